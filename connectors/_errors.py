"""The error every connector-side failure is told as: a message in both languages."""

from __future__ import annotations

from hub import HubError


class ConnectorError(Exception):
    """A run-stopping problem, with a message in Vietnamese and English."""

    def __init__(self, message_vi: str, message_en: str, *, retriable: bool = False) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.retriable = retriable

    def as_dict(self) -> dict[str, str]:
        return {"message_vi": self.message_vi, "message_en": self.message_en}


class DestinationRefused(HubError):
    """A configured URL the hub will not call with credentials: an address the outbound
    guard refuses, or a path that leaves the connector's origin (422)."""

    status = 422
    type_slug = "destination-refused"
    title_vi = "Địa chỉ đích không được phép"
    title_en = "Destination not allowed"
