"""The API answers in JSON, also when Django refuses a request body (REST_FRAMEWORK EXCEPTION_HANDLER)."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParserError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

REFUSED_BODIES = {
    TooManyFilesSent: "Too many files in one request: send at most {files:,} (split the upload into several "
                      "requests).",
    TooManyFieldsSent: "Too many fields in one request: send at most {fields:,}.",
    RequestDataTooBig: "The request's form fields are too large (files are not counted): at most {memory:,} bytes.",
}


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, SuspiciousOperation):
        # Logged as Django logs these itself (the django.security loggers), then answered in JSON.
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
        template = next((text for kind, text in REFUSED_BODIES.items() if isinstance(exc, kind)), None)
        detail = template.format(
            files=settings.DATA_UPLOAD_MAX_NUMBER_FILES or 0,
            fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 0,
            memory=settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0,
        ) if template else "The request was refused as malformed or suspicious."
        return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, MultiPartParserError):
        return Response({"detail": f"Multipart form parse error: {exc}"}, status=status.HTTP_400_BAD_REQUEST)
    return None
