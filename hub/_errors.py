"""The hub's error tree. The gateway turns each into RFC 9457 problem details in one handler.

Every error carries a Vietnamese and an English message: agencies read the first, foreign
developers the second.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base of every error the hub reports to a caller."""

    status = 400
    type_slug = "bad-request"
    title_vi = "Yêu cầu không hợp lệ"
    title_en = "Bad request"

    def __init__(self, detail_vi: str, detail_en: str, **extra: Any) -> None:
        super().__init__(detail_en)
        self.detail_vi = detail_vi
        self.detail_en = detail_en
        self.extra = extra


class InvalidInput(HubError):
    """The request could not be understood: bad JSON, bad parameter, bad cursor."""

    status = 400
    type_slug = "invalid-input"
    title_vi = "Dữ liệu gửi lên không hợp lệ"
    title_en = "Invalid input"


class ValidationFailed(HubError):
    """A record did not pass the data standard; ``extra['errors']`` lists field problems."""

    status = 422
    type_slug = "validation-failed"
    title_vi = "Bản ghi không đạt chuẩn dữ liệu"
    title_en = "Record does not meet the data standard"


class NotFound(HubError):
    status = 404
    type_slug = "not-found"
    title_vi = "Không tìm thấy"
    title_en = "Not found"


class Forbidden(HubError):
    status = 403
    type_slug = "forbidden"
    title_vi = "Không có quyền"
    title_en = "Forbidden"


class Unauthenticated(HubError):
    status = 401
    type_slug = "unauthenticated"
    title_vi = "Chưa xác thực"
    title_en = "Unauthenticated"


class PreconditionFailed(HubError):
    """``If-Match`` did not match the current ETag (optimistic concurrency, RFC 9110 §13.1.1)."""

    status = 412
    type_slug = "precondition-failed"
    title_vi = "Phiên bản đã thay đổi"
    title_en = "Precondition failed"


class Conflict(HubError):
    status = 409
    type_slug = "conflict"
    title_vi = "Xung đột"
    title_en = "Conflict"


class PayloadTooLarge(HubError):
    status = 413
    type_slug = "payload-too-large"
    title_vi = "Dữ liệu quá lớn"
    title_en = "Payload too large"


class UnsupportedMediaType(HubError):
    status = 415
    type_slug = "unsupported-media-type"
    title_vi = "Kiểu nội dung không được hỗ trợ"
    title_en = "Unsupported media type"


class RateLimited(HubError):
    """Too many requests; ``extra['retry_after']`` seconds until the window frees up."""

    status = 429
    type_slug = "rate-limited"
    title_vi = "Quá nhiều yêu cầu"
    title_en = "Too many requests"


class Unavailable(HubError):
    status = 503
    type_slug = "unavailable"
    title_vi = "Dịch vụ tạm thời không sẵn sàng"
    title_en = "Service unavailable"
