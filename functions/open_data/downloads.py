"""``GET /open-data/v1/bulk/{file}``: a bulk file, by name.

Only names of the bulk layout are served (``2026-03-01.csv``, ``2026.jsonl``,
``dictionary.md``, ``manifest.json``…; anything else is a 404 before S3 is asked), so the route
cannot read any other object of the bucket. In AWS the answer is a 302 to a presigned S3 URL
valid for five minutes (a year's file is larger than a Lambda answer may be, and S3 serves
ranges and resumes); the local bus has no S3 endpoint to redirect to, so it answers with the
file itself.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from functions.domain.open_data import bulk
from functions.platform import aws
from functions.platform.errors import ApiError
from functions.platform.settings import get_settings

PRESIGNED_SECONDS = 300


def _missing(name: str) -> ApiError:
    return ApiError.one(
        404, "file", f"{name}: no such bulk file (the list is /open-data/v1/bulk/manifest.json)"
    )


def serve(name: str) -> Response[str]:
    key = bulk.key_of(name)
    if key is None:
        raise _missing(name)
    settings = get_settings()
    s3 = aws.s3()
    if settings.local:
        try:
            body = s3.get_object(Bucket=settings.open_data_bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            raise _missing(name) from None
        headers = {
            "Access-Control-Allow-Origin": "*",
            "Cache-Control": "public, max-age=300",
            "Content-Disposition": f'attachment; filename="{name}"',
        }
        return Response(200, bulk.content_type(name), body.decode("utf-8"), headers)
    try:
        s3.head_object(Bucket=settings.open_data_bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise _missing(name) from None
        raise
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.open_data_bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{name}"',
        },
        ExpiresIn=PRESIGNED_SECONDS,
    )
    headers = {"Location": url, "Cache-Control": "private, max-age=60"}
    return Response(302, "text/plain; charset=utf-8", f"See {url}\n", headers)
