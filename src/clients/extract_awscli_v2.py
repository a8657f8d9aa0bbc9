# Unpacks AWS CLI v2 from an aws-cdk-asset-awscli-v2 wheel (run by labcheck, stdlib only).
# usage: python3 extract_awscli_v2.py WHEEL CLI_VERSION DEST
# The wheel holds a jsii .tgz holding lib/layer.zip holding awscli/v2/<version>/dist/.
# That dist/ goes to DEST/dist with the file modes stored in the zip (zipfile drops them).
import os, shutil, sys, tarfile, zipfile

wheel, version, dest = sys.argv[1], sys.argv[2], sys.argv[3]
prefix = "awscli/v2/%s/dist/" % version
layer = os.path.join(dest, "layer.zip")

with zipfile.ZipFile(wheel) as whl:
    tgzs = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    if len(tgzs) != 1:
        sys.exit("expected one .jsii.tgz in the wheel, found %r" % tgzs)
    with whl.open(tgzs[0]) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tgz:
        for member in tgz:
            if member.name == "package/lib/layer.zip":
                print("unpacking %s from %s" % (member.name, tgzs[0]), flush=True)
                with tgz.extractfile(member) as src, open(layer, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                break
        else:
            sys.exit("no package/lib/layer.zip in %s" % tgzs[0])

files = 0
with zipfile.ZipFile(layer) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix):
            continue
        rel = info.filename[len(prefix):]
        mode = info.external_attr >> 16
        target = os.path.normpath(os.path.join(dest, "dist", rel))
        if not target.startswith(os.path.join(dest, "dist")):
            sys.exit("unsafe path in layer.zip: %r" % info.filename)
        if info.is_dir():
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if (mode & 0o170000) == 0o120000:
            os.symlink(z.read(info).decode(), target)
            continue
        with z.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(target, (mode & 0o777) or 0o644)
        files += 1
os.remove(layer)
if files == 0:
    sys.exit("no %s in layer.zip: does the package bundle CLI %s?" % (prefix, version))
print("unpacked %d files of AWS CLI %s" % (files, version), flush=True)
