from support.s3 import s3_bucket, s3_endpoint  # noqa: F401 - fixtures
