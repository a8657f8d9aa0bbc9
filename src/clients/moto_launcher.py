"""labcheck's moto launcher: an emulated AWS account for one trial at a time.

Run by labcheck with the python of its own moto venv (never the students').

    launcher.py serve           one server on 127.0.0.1:<free port>; prints
                                `labcheck-moto port=<port>` once it listens and
                                serves until stdin closes.
    launcher.py zygote NAME     a fork server on the abstract unix socket NAME:
                                moto imported and its backends built once
                                (empty), then one forked child per connection.
                                The child listens on a free port, writes
                                `port=<port>` on the connection and serves until
                                the connection closes: every trial gets a
                                process of its own whose state starts empty.
                                Prints `labcheck-moto zygote ready` (or `... in
                                use` when another zygote owns NAME) and exits
                                after LABCHECK_MOTO_IDLE seconds without a child.

Calls moto answers but cannot carry out offline (Lambda Invoke needs a
container runtime) are refused at once with `NotEmulatedOffline`, naming the
call, and reported on the connection as `unemulated <service> <operation>`.
"""
import io
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from urllib.parse import parse_qs

WARM = [s for s in os.environ.get("LABCHECK_MOTO_WARM", "s3,iam,sts,dynamodb,lambda").split(",") if s]
IDLE = float(os.environ.get("LABCHECK_MOTO_IDLE", "60"))
ACCOUNT = os.environ.get("MOTO_ACCOUNT_ID", "000000000000")

# (service signing name, operation) pairs refused offline; "*" = every operation.
# The OpenSearch Serverless data plane is not here: it is reached at a
# collection's own host, which no endpoint variable redirects (the network
# guard refuses it, and labcheck names it as not emulated).
UNEMULATED = {
    ("lambda", "Invoke"),
    ("lambda", "InvokeAsync"),
    ("lambda", "InvokeWithResponseStream"),
}
# Services whose errors are XML (query and rest-xml protocols).
XML_QUERY = {"iam", "sts", "sqs", "sns", "ec2", "cloudformation", "rds", "elasticloadbalancing", "ses"}

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto import backends  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
import logging  # noqa: E402

# One line per request on stderr is noise in a trial's log.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def call_of(environ):
    """(service, operation) of a request, from its signature scope and body."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    if service == "lambda" and path.endswith("/invocations"):
        return service, "Invoke"
    if service == "lambda" and path.endswith("/response-streaming-invocations"):
        return service, "InvokeWithResponseStream"
    if service == "lambda" and path.endswith("/invoke-async/"):
        return service, "InvokeAsync"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        # Query protocol (IAM, STS, CloudFormation…): the operation is the
        # body's `Action`; the body is put back for moto.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        for action in parse_qs(body.decode("utf-8", "replace")).get("Action", []):
            return service, action
    return service, environ.get("REQUEST_METHOD", "") + " " + path


class Front:
    """Refuses unemulated calls before moto sees them; reports them on `conn`."""

    def __init__(self, app, report):
        self.app = app
        self.report = report

    def __call__(self, environ, start_response):
        service, operation = call_of(environ)
        if (service, operation) in UNEMULATED or (service, "*") in UNEMULATED:
            return self.refuse(service, operation, start_response)
        captured = []

        def capture(status, headers, exc_info=None):
            captured.append((status, headers))
            return lambda data: None

        # Buffered, to turn moto's 500s (an operation it does not implement, a
        # service it does not have, an extra not installed) into the same
        # named refusal instead of an HTML page; lab-sized answers only.
        try:
            body = b"".join(self.app(environ, capture))
        except Exception:  # moto's apps run in debug mode: errors propagate
            return self.refuse(service, operation, start_response)
        status, headers = captured[0] if captured else ("500 INTERNAL SERVER ERROR", [])
        if status.startswith("500") or status.startswith("501"):
            return self.refuse(service, operation, start_response)
        start_response(status, headers)
        return [body]

    def refuse(self, service, operation, start_response):
        self.report(f"unemulated {service or '?'} {operation}\n")
        message = f"not emulated offline: run it live ({service or '?'} {operation})"
        if service in XML_QUERY or service == "s3":
            body = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>NotEmulatedOffline</Code>"
                f"<Message>{message}</Message></Error></ErrorResponse>"
            ).encode()
            ctype = "text/xml"
        else:
            body = json.dumps({"__type": "NotEmulatedOffline", "message": message, "Message": message}).encode()
            ctype = "application/json"
        start_response("400 Bad Request", [
            ("Content-Type", ctype),
            ("Content-Length", str(len(body))),
            ("x-amzn-ErrorType", "NotEmulatedOffline"),
        ])
        return [body]


# Read-only calls made once in the zygote: they build each service's app,
# backends and code paths without creating anything, so a forked child
# starts with an empty account that answers its first call at full speed.
WARM_CALLS = {
    "s3": ("GET", "/", {}, ""),
    "iam": ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
            "Action=ListRoles&Version=2010-05-08"),
    "sts": ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
            "Action=GetCallerIdentity&Version=2011-06-15"),
    "dynamodb": ("POST", "/", {"Content-Type": "application/x-amz-json-1.0",
                               "X-Amz-Target": "DynamoDB_20120810.ListTables"}, "{}"),
    "lambda": ("GET", "/2015-03-31/functions/", {}, ""),
}


def warm_app():
    """The dispatcher with the usual services' apps and empty backends built."""
    from werkzeug.test import Client

    app = DomainDispatcherApplication(create_backend_app)
    client = Client(app)
    for service in WARM:
        call = WARM_CALLS.get(service)
        if call is None:
            continue
        method, path, headers, body = call
        headers = dict(headers)
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
            f"{service}/aws4_request, SignedHeaders=host, Signature=0"
        )
        try:
            client.open(path, method=method, headers=headers, data=body).close()
        except Exception as e:  # a service of another moto version: no warm-up
            print(f"labcheck-moto: no warm-up for {service}: {e}", file=sys.stderr)
    return app


def serve(app, report):
    server = make_server("127.0.0.1", 0, Front(app, report), threaded=True,
                         request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main_serve():
    lock = threading.Lock()

    def report(line):
        with lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    port = serve(warm_app(), report)
    print(f"labcheck-moto port={port}", flush=True)
    sys.stdin.read()
    os._exit(0)


def child(conn):
    lock = threading.Lock()

    def report(line):
        with lock:
            try:
                conn.sendall(line.encode())
            except OSError:
                pass

    port = serve(APP, report)
    conn.sendall(f"port={port}\n".encode())
    # Serve until labcheck closes the connection (or dies: the kernel closes it).
    while True:
        try:
            if not conn.recv(4096):
                break
        except OSError:
            break
    os._exit(0)


def main_zygote(name):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind("\0" + name)
    except OSError:
        print("labcheck-moto zygote in use", flush=True)
        return
    listener.listen(64)
    global APP
    APP = warm_app()
    # Daemonise: the process labcheck started exits once it has said ready,
    # so no zombie is left behind; the server lives on in its own session.
    if os.fork() > 0:
        print("labcheck-moto zygote ready", flush=True)
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    children = set()
    last = time.monotonic()
    while True:
        ready, _, _ = select.select([listener], [], [], 1.0)
        while children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            children.discard(pid)
        if children:
            last = time.monotonic()
        if ready:
            conn, _ = listener.accept()
            pid = os.fork()
            if pid == 0:
                listener.close()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                child(conn)
            conn.close()
            children.add(pid)
            last = time.monotonic()
        elif not children and time.monotonic() - last > IDLE:
            return


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        main_serve()
    elif sys.argv[1:2] == ["zygote"] and len(sys.argv) == 3:
        main_zygote(sys.argv[2])
    else:
        sys.exit("usage: launcher.py serve | zygote NAME")
