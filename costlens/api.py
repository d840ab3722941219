"""Shared pieces of the HTTP API: error shape, money formatting, the database-down answer."""

from decimal import Decimal

from django.db import DatabaseError, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

NANOS = Decimal(1_000_000_000)


def exception_handler(exc, context):
    if isinstance(exc, OperationalError | InterfaceError):
        return Response(
            {"detail": "The database is unavailable; nothing was stored. Retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, DatabaseError):
        return Response(
            {"detail": "The database could not complete the request; retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return response
