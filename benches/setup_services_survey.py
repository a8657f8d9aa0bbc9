# Which of the survey's setup calls (shared/survey/bedrock-courses.md, G5/G6) moto serves
# offline, through labcheck's launcher. Run with the provisioned boto3 python, ZNAME set to
# a fork server started by `launcher.py zygote NAME`; prints one line per call.
# Results are in docs/setup-services.md.
import os, json, io, zipfile, socket
c=socket.socket(socket.AF_UNIX); c.connect("\0"+os.environ["ZNAME"]); port=int(c.makefile().readline().split("=")[1])
url=f"http://127.0.0.1:{port}"
os.environ.update(AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=url, AWS_MAX_ATTEMPTS="1")
import boto3, botocore
s3=boto3.client("s3"); iam=boto3.client("iam"); sts=boto3.client("sts"); lam=boto3.client("lambda"); ddb=boto3.client("dynamodb"); aoss=boto3.client("opensearchserverless"); ssm=boto3.client("ssm"); cog=boto3.client("cognito-idp"); cfn=boto3.client("cloudformation"); sns=boto3.client("sns")
trust=json.dumps({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]})
pol=json.dumps({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})
zb=io.BytesIO(); z=zipfile.ZipFile(zb,"w"); z.writestr("f.py","def h(e,c): return 1"); z.close()
st={}
def t(name, f):
    try: f(); st[name]="ok"
    except botocore.exceptions.ClientError as e: st[name]="error "+e.response["Error"]["Code"]+": "+e.response["Error"].get("Message","")[:80]
    except Exception as e: st[name]="exception "+type(e).__name__+": "+str(e)[:80]
t("s3 CreateBucket", lambda: s3.create_bucket(Bucket="bkt1"))
t("s3 PutObject (upload_file)", lambda: (open("/tmp/u.txt","w").write("x"), s3.upload_file("/tmp/u.txt","bkt1","k")))
t("s3 GetObject (download_file)", lambda: s3.download_file("bkt1","k","/tmp/d.txt"))
t("s3 GetObject", lambda: s3.get_object(Bucket="bkt1",Key="k")["Body"].read())
t("s3 HeadBucket", lambda: s3.head_bucket(Bucket="bkt1"))
t("s3 ListObjects", lambda: s3.list_objects(Bucket="bkt1"))
t("s3 ListObjectsV2 + paginator", lambda: list(s3.get_paginator("list_objects_v2").paginate(Bucket="bkt1")))
t("s3 PutBucketPolicy", lambda: s3.put_bucket_policy(Bucket="bkt1",Policy=json.dumps({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt1/*"}]})))
t("s3 DeleteObject", lambda: s3.delete_object(Bucket="bkt1",Key="k"))
t("s3 DeleteBucket", lambda: s3.delete_bucket(Bucket="bkt1"))
t("sts GetCallerIdentity", lambda: sts.get_caller_identity())
t("iam CreateRole", lambda: iam.create_role(RoleName="r",AssumeRolePolicyDocument=trust))
t("iam GetRole", lambda: iam.get_role(RoleName="r"))
t("iam CreatePolicy", lambda: iam.create_policy(PolicyName="p",PolicyDocument=pol))
t("iam AttachRolePolicy", lambda: iam.attach_role_policy(RoleName="r",PolicyArn="arn:aws:iam::000000000000:policy/p"))
t("iam ListAttachedRolePolicies", lambda: iam.list_attached_role_policies(RoleName="r"))
t("iam PutRolePolicy", lambda: iam.put_role_policy(RoleName="r",PolicyName="i",PolicyDocument=pol))
t("iam GetPolicy", lambda: iam.get_policy(PolicyArn="arn:aws:iam::000000000000:policy/p"))
t("sts AssumeRole", lambda: sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/r",RoleSessionName="session"))
t("lambda CreateFunction", lambda: lam.create_function(FunctionName="f",Runtime="python3.12",Role="arn:aws:iam::000000000000:role/r",Handler="f.h",Code={"ZipFile":zb.getvalue()}))
t("lambda GetFunction + waiter", lambda: (lam.get_function(FunctionName="f"), lam.get_waiter("function_active_v2").wait(FunctionName="f")))
t("lambda UpdateFunctionCode", lambda: lam.update_function_code(FunctionName="f",ZipFile=zb.getvalue()))
t("lambda Invoke", lambda: lam.invoke(FunctionName="f"))
t("iam DetachRolePolicy", lambda: iam.detach_role_policy(RoleName="r",PolicyArn="arn:aws:iam::000000000000:policy/p"))
t("iam DeletePolicy", lambda: iam.delete_policy(PolicyArn="arn:aws:iam::000000000000:policy/p"))
t("iam DeleteRole", lambda: (iam.delete_role_policy(RoleName="r",PolicyName="i"), iam.delete_role(RoleName="r")))
t("dynamodb CreateTable + waiter", lambda: (ddb.create_table(TableName="t",KeySchema=[{"AttributeName":"id","KeyType":"HASH"}],AttributeDefinitions=[{"AttributeName":"id","AttributeType":"S"}],BillingMode="PAY_PER_REQUEST"), ddb.get_waiter("table_exists").wait(TableName="t")))
t("dynamodb PutItem/GetItem/Scan/DeleteItem", lambda: (ddb.put_item(TableName="t",Item={"id":{"S":"1"}}), ddb.get_item(TableName="t",Key={"id":{"S":"1"}}), ddb.scan(TableName="t"), ddb.delete_item(TableName="t",Key={"id":{"S":"1"}})))
t("dynamodb DeleteTable", lambda: ddb.delete_table(TableName="t"))
t("opensearchserverless Create/Get/List/DeleteSecurityPolicy", lambda: (aoss.create_security_policy(name="enc",type="encryption",policy=json.dumps({"Rules":[{"ResourceType":"collection","Resource":["collection/kbc"]}],"AWSOwnedKey":True})), aoss.get_security_policy(name="enc",type="encryption"), aoss.list_security_policies(type="encryption"), aoss.delete_security_policy(name="enc",type="encryption")))
t("opensearchserverless Create/BatchGet/List/DeleteCollection", lambda: (aoss.create_security_policy(name="enc2",type="encryption",policy=json.dumps({"Rules":[{"ResourceType":"collection","Resource":["collection/kbc"]}],"AWSOwnedKey":True})), aoss.create_collection(name="kbc",type="VECTORSEARCH"), aoss.batch_get_collection(names=["kbc"]), aoss.list_collections(), ))
t("opensearchserverless Create/Get/List/DeleteAccessPolicy", lambda: (aoss.create_access_policy(name="acc",type="data",policy=json.dumps([{"Rules":[{"ResourceType":"index","Resource":["index/kb/*"],"Permission":["aoss:*"]}],"Principal":["arn:aws:iam::000000000000:role/r"]}])), aoss.get_access_policy(name="acc",type="data"), aoss.list_access_policies(type="data"), aoss.delete_access_policy(name="acc",type="data")))
t("ssm Put/Get/DeleteParameter", lambda: (ssm.put_parameter(Name="p",Value="v",Type="String"), ssm.get_parameter(Name="p"), ssm.delete_parameter(Name="p")))
t("cloudformation DescribeStacks", lambda: cfn.describe_stacks())
t("sns Publish/Subscribe/ListSubscriptionsByTopic", lambda: (sns.create_topic(Name="t"), sns.subscribe(TopicArn="arn:aws:sns:us-east-1:000000000000:t",Protocol="email",Endpoint="a@example.com"), sns.list_subscriptions_by_topic(TopicArn="arn:aws:sns:us-east-1:000000000000:t"), sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:t",Message="m")))
def cognito():
    p=cog.create_user_pool(PoolName="p")["UserPool"]["Id"]; cl=cog.create_user_pool_client(UserPoolId=p,ClientName="c",ExplicitAuthFlows=["USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    cog.sign_up(ClientId=cl,Username="u",Password="Passw0rd!Passw0rd"); cog.admin_confirm_sign_up(UserPoolId=p,Username="u")
    cog.initiate_auth(ClientId=cl,AuthFlow="USER_PASSWORD_AUTH",AuthParameters={"USERNAME":"u","PASSWORD":"Passw0rd!Passw0rd"})
t("cognito-idp SignUp/InitiateAuth", cognito)
t("translate TranslateText", lambda: boto3.client("translate").translate_text(Text="hi",SourceLanguageCode="en",TargetLanguageCode="fr"))
t("sagemaker DescribeSpace", lambda: boto3.client("sagemaker").describe_space(DomainId="d-x",SpaceName="s"))
t("ecr GetAuthorizationToken", lambda: boto3.client("ecr").get_authorization_token())
for k,v in st.items(): print(f"{k:60} {v}")
import urllib.request
try:
    r=urllib.request.urlopen(urllib.request.Request(url+"/", data=b"Action=DescribeStacks&Version=2010-05-15", headers={"Content-Type":"application/x-www-form-urlencoded","Authorization":"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=0"}))
    print("cfn raw", r.status, r.read()[:200])
except Exception as e: print("cfn raw", e, getattr(e,'read',lambda:b'')()[:300])
