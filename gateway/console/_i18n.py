"""The console's words in Vietnamese (first) and English, and the Vietnamese formats of dates,
times and numbers: dd/mm/yyyy, times in Asia/Ho_Chi_Minh, decimal comma, dot thousands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# key -> (Vietnamese, English)
STRINGS: dict[str, tuple[str, str]] = {
    "app.name": ("RightsHub", "RightsHub"),
    "app.tagline": ("Cơ sở dữ liệu truyền thông về quyền con người",
                    "Human-rights communication database"),
    "app.decision": ("Quyết định 1079/QĐ-TTg", "Decision 1079/QĐ-TTg"),
    "nav.dashboard": ("Tiến độ chương trình", "Programme dashboard"),
    "nav.agencies": ("Cơ quan", "Agencies"),
    "nav.clients": ("Ứng dụng & API key", "Clients & API keys"),
    "nav.connectors": ("Kết nối", "Connectors"),
    "nav.subscriptions": ("Đăng ký nhận dữ liệu", "Subscriptions"),
    "nav.import": ("Nhập dữ liệu", "Import"),
    "nav.audit": ("Nhật ký kiểm toán", "Audit log"),
    "nav.users": ("Tài khoản quản trị", "Admin accounts"),
    "users.title": ("Tài khoản quản trị", "Admin accounts"),
    "users.intro": ("Quản trị viên cơ quan chỉ quản lý tài khoản của cơ quan mình.",
                    "Agency admins manage their own agency's accounts only."),
    "users.display_name": ("Họ và tên", "Full name"),
    "users.role": ("Vai trò", "Role"),
    "users.last_login": ("Đăng nhập lần cuối", "Last sign-in"),
    "users.create": ("Tạo tài khoản", "Create an account"),
    "users.password_hint": ("ít nhất 12 ký tự", "at least 12 characters"),
    "users.deactivate": ("Khoá", "Deactivate"),
    "users.activate": ("Mở khoá", "Activate"),
    "users.reset": ("Đặt lại mật khẩu", "Reset password"),
    "users.new_password": ("Mật khẩu mới", "New password"),
    "users.sso": ("SSO", "SSO"),
    "users.saved": ("Đã lưu tài khoản.", "Account saved."),
    "nav.records": ("Tra cứu hồ sơ", "Records"),
    "nav.skip": ("Bỏ qua đến nội dung chính", "Skip to main content"),
    "nav.menu": ("Trình đơn", "Menu"),
    "lang.switch": ("English", "Tiếng Việt"),
    "role.hub_admin": ("Quản trị viên hub", "Hub admin"),
    "role.agency_admin": ("Quản trị viên cơ quan", "Agency admin"),
    "login.title": ("Đăng nhập quản trị", "Admin sign-in"),
    "login.username": ("Tên đăng nhập", "Username"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Sign in"),
    "login.sso": ("Đăng nhập một lần (SSO)", "Single sign-on (SSO)"),
    "login.logout": ("Đăng xuất", "Sign out"),
    "login.required": ("Vui lòng đăng nhập để tiếp tục.", "Please sign in to continue."),
    "error.title": ("Không thực hiện được", "Could not do that"),
    "error.csrf": ("Phiên biểu mẫu đã hết hạn hoặc không hợp lệ; hãy tải lại trang và thử lại.",
                   "The form expired or is not valid; reload the page and try again."),
    "error.not_found": ("Không tìm thấy trang.", "Page not found."),
    "error.back": ("Quay lại", "Go back"),
    "common.save": ("Lưu", "Save"),
    "common.create": ("Tạo mới", "Create"),
    "common.search": ("Tìm kiếm", "Search"),
    "common.filter": ("Lọc", "Filter"),
    "common.clear": ("Xoá bộ lọc", "Clear filters"),
    "common.all": ("Tất cả", "All"),
    "common.none": ("Không có dữ liệu.", "Nothing to show."),
    "common.yes": ("Có", "Yes"),
    "common.no": ("Không", "No"),
    "common.actions": ("Thao tác", "Actions"),
    "common.name": ("Tên", "Name"),
    "common.code": ("Mã", "Code"),
    "common.agency": ("Cơ quan", "Agency"),
    "common.status": ("Trạng thái", "Status"),
    "common.active": ("Đang hoạt động", "Active"),
    "common.inactive": ("Ngừng hoạt động", "Inactive"),
    "common.created": ("Ngày tạo", "Created"),
    "common.next": ("Trang sau", "Next page"),
    "common.copy": ("Sao chép", "Copy"),
    "common.copied": ("Đã sao chép", "Copied"),
    "common.year": ("Năm", "Year"),
    "common.details": ("Chi tiết", "Details"),
    "common.confirm": ("Bạn có chắc chắn?", "Are you sure?"),
    "common.optional": ("không bắt buộc", "optional"),
    "common.date_hint": ("dd/mm/yyyy", "dd/mm/yyyy"),
    "agencies.title": ("Danh mục cơ quan", "Agency registry"),
    "agencies.intro": ("Danh mục có ngày hiệu lực và liên kết kế nhiệm: dữ liệu của cơ quan cũ "
                       "được cộng vào cơ quan kế nhiệm trong mọi báo cáo.",
                       "A dated registry with successor links: a former agency's records roll "
                       "up to its successor in every report."),
    "agencies.kind": ("Loại", "Kind"),
    "agencies.level": ("Cấp", "Level"),
    "agencies.valid_from": ("Hiệu lực từ", "Valid from"),
    "agencies.valid_until": ("Hiệu lực đến", "Valid until"),
    "agencies.predecessors": ("Tiền nhiệm", "Predecessors"),
    "agencies.successors": ("Kế nhiệm", "Successors"),
    "agencies.in_force": ("Còn hiệu lực", "In force"),
    "agencies.former": ("Đã hết hiệu lực", "Former"),
    "agencies.show_former": ("Hiện cả cơ quan đã hết hiệu lực", "Show former agencies too"),
    "agencies.create": ("Thêm cơ quan", "Add an agency"),
    "agencies.edit": ("Sửa cơ quan", "Edit agency"),
    "agencies.successor_code": ("Mã cơ quan kế nhiệm", "Successor code"),
    "agencies.effective_on": ("Ngày kế nhiệm", "Succession date"),
    "agencies.note": ("Ghi chú", "Note"),
    "agencies.saved": ("Đã lưu cơ quan.", "Agency saved."),
    "level.central": ("Trung ương", "Central"),
    "level.provincial": ("Tỉnh, thành phố", "Provincial"),
    "level.local": ("Địa phương", "Local"),
    "level.other": ("Khác", "Other"),
    "clients.title": ("Ứng dụng kết nối và API key", "Clients and API keys"),
    "clients.intro": ("Mỗi hệ thống của cơ quan kết nối bằng một ứng dụng (OAuth2) hoặc API key. "
                      "Khoá bí mật chỉ hiển thị một lần.",
                      "Each agency system connects as a client (OAuth2) or with an API key. "
                      "Secrets are shown once."),
    "clients.client_id": ("Mã ứng dụng", "Client ID"),
    "clients.scopes": ("Quyền (scope)", "Scopes"),
    "clients.auth_method": ("Phương thức xác thực", "Auth method"),
    "clients.create": ("Tạo ứng dụng", "Create a client"),
    "clients.created": ("Đã tạo ứng dụng. Hãy lưu khoá bí mật ngay: nó sẽ không hiển thị lại.",
                        "Client created. Store the secret now: it will not be shown again."),
    "clients.secret": ("Khoá bí mật (client secret)", "Client secret"),
    "clients.rotate_secret": ("Đổi khoá bí mật", "Rotate secret"),
    "clients.deactivate": ("Ngừng hoạt động", "Deactivate"),
    "clients.deactivated": ("Đã ngừng hoạt động ứng dụng.", "Client deactivated."),
    "clients.keys": ("API key", "API keys"),
    "clients.back": ("Về danh sách ứng dụng", "Back to clients"),
    "keys.prefix": ("Tiền tố", "Prefix"),
    "keys.name": ("Tên key", "Key name"),
    "keys.expires": ("Hết hạn", "Expires"),
    "keys.last_used": ("Dùng lần cuối", "Last used"),
    "keys.never": ("Chưa dùng", "Never"),
    "keys.create": ("Tạo API key", "Create an API key"),
    "keys.expires_on": ("Ngày hết hạn", "Expiry date"),
    "keys.created": ("Đã tạo API key. Hãy sao chép ngay: key chỉ hiển thị một lần.",
                     "API key created. Copy it now: it is shown only once."),
    "keys.rotated": ("Đã đổi API key. Key cũ còn dùng được trong thời gian chuyển tiếp.",
                     "API key rotated. The old key keeps working during the overlap."),
    "keys.rotate": ("Đổi key", "Rotate"),
    "keys.revoke": ("Thu hồi", "Revoke"),
    "keys.revoked": ("Đã thu hồi", "Revoked"),
    "keys.revoked_msg": ("Đã thu hồi API key; key không còn dùng được.",
                         "API key revoked; it no longer works."),
    "keys.expired": ("Đã hết hạn", "Expired"),
    "keys.usage": ("Cách dùng", "Usage"),
    "import.title": ("Nhập dữ liệu từ tệp", "Import a file"),
    "import.intro": ("Tải lên tệp XLSX, CSV hoặc NDJSON. Mỗi dòng đi qua cùng quy trình kiểm tra "
                     "như API; lỗi được báo theo số dòng.",
                     "Upload an XLSX, CSV or NDJSON file. Every row goes through the same "
                     "checks as the API; errors are reported by row number."),
    "import.record_type": ("Loại hồ sơ", "Record type"),
    "import.file": ("Tệp dữ liệu", "File"),
    "import.dry_run": ("Chỉ kiểm tra, không ghi (chạy thử)", "Check only, write nothing (dry run)"),
    "import.submit": ("Tải lên và nhập", "Upload and import"),
    "import.templates": ("Mẫu XLSX theo loại hồ sơ", "XLSX templates by record type"),
    "import.templates_intro": ("Tiêu đề cột bằng tiếng Việt, kèm tên trường chuẩn trong ngoặc.",
                               "Vietnamese column headers, with the standard field name in "
                               "brackets."),
    "import.download": ("Tải mẫu", "Download template"),
    "import.progress": ("Tiến độ nhập", "Import progress"),
    "import.running": ("Đang nhập…", "Importing…"),
    "import.queued": ("Đang chờ…", "Queued…"),
    "import.done": ("Đã nhập xong", "Import finished"),
    "import.failed": ("Không nhập được tệp", "The file could not be imported"),
    "import.rows": ("dòng đã xử lý", "rows processed"),
    "import.summary": ("Kết quả nhập", "Import summary"),
    "import.created": ("Tạo mới", "Created"),
    "import.updated": ("Cập nhật", "Updated"),
    "import.unchanged": ("Không đổi", "Unchanged"),
    "import.deleted": ("Đã xoá", "Deleted"),
    "import.rejected": ("Bị từ chối", "Rejected"),
    "import.errors": ("Lỗi theo dòng", "Errors by row"),
    "import.row": ("Dòng", "Row"),
    "import.field": ("Trường", "Field"),
    "import.message": ("Thông báo", "Message"),
    "import.dry_run_note": ("Chạy thử: không có gì được ghi.", "Dry run: nothing was written."),
    "import.again": ("Nhập tệp khác", "Import another file"),
    "import.no_file": ("Hãy chọn một tệp.", "Choose a file."),
    "import.agency_for": ("Cơ quan sở hữu dữ liệu", "Owning agency"),
    "audit.title": ("Nhật ký kiểm toán", "Audit log"),
    "audit.intro": ("Nhật ký chỉ ghi thêm, nối chuỗi băm: mọi thao tác ghi và quản trị.",
                    "Append-only, hash-chained: every write and admin action."),
    "audit.at": ("Thời điểm", "Time"),
    "audit.actor": ("Người thực hiện", "Actor"),
    "audit.action": ("Thao tác", "Action"),
    "audit.target": ("Đối tượng", "Target"),
    "audit.outcome": ("Kết quả", "Outcome"),
    "audit.since": ("Từ ngày", "From"),
    "audit.until": ("Đến ngày", "To"),
    "audit.verify": ("Kiểm tra tính toàn vẹn chuỗi", "Verify the chain"),
    "audit.intact": ("Chuỗi nhật ký toàn vẹn: {entries} mục, mục cuối số {head}.",
                     "The chain is intact: {entries} entries, head at {head}."),
    "audit.broken": ("CHUỖI BỊ HỎNG tại mục {seq}: {reason}",
                     "CHAIN BROKEN at entry {seq}: {reason}"),
    "records.title": ("Tra cứu hồ sơ", "Records"),
    "records.intro": ("Tìm kiếm không cần dấu: “quyen tre em” tìm thấy “quyền trẻ em”.",
                      "Search ignores diacritics: “quyen tre em” finds “quyền trẻ em”."),
    "records.q": ("Từ khoá", "Keywords"),
    "records.kind": ("Loại", "Kind"),
    "records.theme": ("Chủ đề", "Theme"),
    "records.language": ("Ngôn ngữ", "Language"),
    "records.date_from": ("Từ ngày", "From"),
    "records.date_to": ("Đến ngày", "To"),
    "records.title_col": ("Tiêu đề", "Title"),
    "records.source_id": ("Mã nguồn", "Source ID"),
    "records.version": ("Phiên bản", "Version"),
    "records.updated": ("Cập nhật", "Updated"),
    "records.date": ("Ngày", "Date"),
    "records.visibility": ("Phạm vi", "Visibility"),
    "records.history": ("Lịch sử thay đổi", "History"),
    "records.op": ("Thay đổi", "Change"),
    "records.channel": ("Kênh", "Channel"),
    "records.content": ("Nội dung", "Content"),
    "records.deleted": ("Đã xoá", "Deleted"),
    "records.cost": ("Kinh phí", "Cost"),
    "records.source_updated": ("Cập nhật tại hệ thống nguồn", "Updated at the source"),
    "files.title": ("Tệp lưu trữ", "Archived files"),
    "files.name": ("Tên tệp", "File name"),
    "files.size": ("Dung lượng", "Size"),
    "files.type": ("Định dạng", "Type"),
    "files.role": ("Vai trò", "Role"),
    "files.language": ("Ngôn ngữ", "Language"),
    "files.download": ("Tải xuống", "Download"),
    "files.upload": ("Tải tệp lên", "Upload a file"),
    "files.uploaded": ("Đã lưu tệp vào kho lưu trữ.", "File stored in the archive."),
    "op.create": ("Tạo mới", "Created"),
    "op.update": ("Cập nhật", "Updated"),
    "op.delete": ("Xoá", "Deleted"),
    "dash.title": ("Tiến độ thực hiện Quyết định 1079/QĐ-TTg",
                   "Progress on Decision 1079/QĐ-TTg"),
    "dash.intro": ("Số liệu tính trực tiếp từ cơ sở dữ liệu; cơ quan cũ được cộng vào cơ quan "
                   "kế nhiệm.", "Figures computed from the records; former agencies roll up to "
                   "their successors."),
    "dash.all_years": ("Mọi năm", "All years"),
    "dash.all_agencies": ("Mọi cơ quan", "All agencies"),
    "dash.export": ("Xuất Excel (XLSX)", "Export to Excel (XLSX)"),
    "dash.target": ("Mục tiêu", "Target"),
    "dash.no_target": ("Theo dõi", "Tracked"),
    "dash.achieved": ("Đạt", "Met"),
    "dash.not_achieved": ("Chưa đạt", "Not yet met"),
    "dash.exhibitions": ("Triển lãm theo tỉnh, thành phố", "Exhibitions by province"),
    "dash.briefings": ("Họp báo định kỳ hằng tháng theo tỉnh, thành phố",
                       "Monthly press briefings by province"),
    "dash.training": ("Tập huấn, bồi dưỡng theo đối tượng", "Training by target group"),
    "dash.courses": ("lớp", "courses"),
    "dash.participants": ("lượt người", "participants"),
    "dash.province": ("Tỉnh, thành phố", "Province"),
    "dash.month": ("Tháng", "Month"),
    "dash.legend": ("Chú giải: số cuộc họp báo trong tháng", "Legend: briefings in the month"),
    "dash.unavailable": ("Chưa có số liệu chương trình.", "Programme figures are not available."),
    "dash.group": ("Đối tượng", "Group"),
    "dash.count": ("Số lượng", "Count"),
    "dash.indicator": ("Chỉ tiêu", "Indicator"),
    "dash.value": ("Kết quả", "Value"),
    "dash.held": ("Đã tổ chức", "Held"),
    "dash.not_held": ("Chưa tổ chức", "Not held"),
    "dash.of": ("trên", "of"),
    "unit.titles": ("đầu sách", "titles"),
    "unit.percent": ("%", "%"),
    "unit.provinces": ("tỉnh, thành phố", "provinces"),
    "unit.courses": ("lớp", "courses"),
    "unit.participants": ("lượt người", "participants"),
    "conn.title": ("Kết nối dữ liệu", "Connectors"),
    "conn.intro": ("Hub tự lấy dữ liệu từ hệ thống của cơ quan theo lịch; mỗi lượt chạy đi qua "
                   "cùng quy trình kiểm tra như API.",
                   "The hub pulls from agency systems on a schedule; every run goes through "
                   "the same checks as the API."),
    "conn.create": ("Thêm connector", "Add a connector"),
    "conn.kind": ("Loại", "Kind"),
    "conn.kind_rest": ("API REST của cơ quan", "Agency REST API"),
    "conn.kind_hub": ("Luồng thay đổi của hub khác", "Another hub's change feed"),
    "conn.config": ("Cấu hình (JSON)", "Configuration (JSON)"),
    "conn.config_hint": ("Địa chỉ, xác thực, luồng dữ liệu và ánh xạ trường "
                         "(xem docs/connectors.md).",
                         "Address, auth, streams and field mappings (see docs/connectors.md)."),
    "conn.secrets": ("Khoá bí mật", "Secrets"),
    "conn.secrets_hint": ("Được niêm phong, không bao giờ hiển thị lại; để trống để giữ nguyên.",
                          "Sealed, never shown again; leave empty to keep the current ones."),
    "conn.secrets_set": ("Đã đặt", "Set"),
    "conn.schedule": ("Chu kỳ (phút)", "Every (minutes)"),
    "conn.enabled": ("Bật", "Enabled"),
    "conn.next_run": ("Lượt chạy tiếp", "Next run"),
    "conn.failures": ("Lỗi liên tiếp", "Failures in a row"),
    "conn.state.running": ("Đang chạy", "Running"),
    "conn.state.queued": ("Đang chờ chạy", "Queued"),
    "conn.state.idle": ("Sẵn sàng", "Idle"),
    "conn.check": ("Kiểm tra kết nối", "Check"),
    "conn.preview": ("Xem trước dữ liệu", "Preview"),
    "conn.run": ("Chạy ngay", "Run now"),
    "conn.full_refresh": ("Lấy lại toàn bộ", "Full refresh"),
    "conn.queued_msg": ("Đã yêu cầu chạy; tiến trình nền sẽ bắt đầu trong giây lát.",
                        "Run requested; the worker starts it shortly."),
    "conn.saved": ("Đã lưu connector.", "Connector saved."),
    "conn.check_ok": ("Kết nối và xác thực thành công.", "Reached and authenticated."),
    "conn.check_failed": ("Kiểm tra không thành công.", "The check failed."),
    "conn.step": ("Bước", "Step"),
    "conn.quality": ("Báo cáo chất lượng dữ liệu (trang đầu, không ghi gì)",
                     "Data-quality report (first page, nothing written)"),
    "conn.stream": ("Luồng", "Stream"),
    "conn.records": ("bản ghi", "records"),
    "conn.valid": ("hợp lệ", "valid"),
    "conn.would": ("Nếu chạy", "A run would"),
    "conn.field": ("Trường", "Field"),
    "conn.fill_rate": ("Tỷ lệ có dữ liệu", "Filled"),
    "conn.problems": ("Vấn đề", "Problems"),
    "conn.examples": ("Ví dụ", "Examples"),
    "conn.runs": ("Lịch sử chạy", "Run history"),
    "conn.started": ("Bắt đầu", "Started"),
    "conn.duration": ("Thời gian", "Duration"),
    "conn.trigger": ("Kích hoạt", "Trigger"),
    "conn.fetched": ("Đã nhận", "Fetched"),
    "conn.errors": ("Lỗi", "Errors"),
    "conn.kind.reconcile": ("Đối soát", "Reconcile"),
    "conn.reconcile": ("Đối soát / dịch chuyển", "Reconcile / shifts"),
    "conn.missing": ("thiếu trong hub", "missing in the hub"),
    "conn.stale": ("cũ hơn nguồn", "stale"),
    "conn.gone": ("đã xoá ở nguồn", "deleted at the source"),
    "conn.shifts": ("nguồn dịch chuyển", "source shifts"),
    "conn.back": ("Về danh sách connector", "Back to connectors"),
    "subs.title": ("Đăng ký nhận dữ liệu và lượt gửi", "Subscriptions and deliveries"),
    "subs.intro": ("Hub gửi mọi thay đổi đến địa chỉ của cơ quan đăng ký (ít nhất một lần, có "
                   "chữ ký); lượt gửi thất bại nhiều lần vào hàng thư chết và có thể gửi lại.",
                   "The hub pushes every change to the subscriber's endpoint (at least once, "
                   "signed); deliveries that keep failing become dead letters and can be "
                   "redelivered."),
    "subs.create": ("Thêm đăng ký", "Add a subscription"),
    "subs.endpoint": ("Địa chỉ nhận (URL)", "Endpoint URL"),
    "subs.types": ("Loại hồ sơ", "Record types"),
    "subs.all_types": ("mọi loại nếu không chọn", "all types when none is chosen"),
    "subs.from": ("Gửi từ", "Deliver from"),
    "subs.from_now": ("Thay đổi từ bây giờ", "Changes from now on"),
    "subs.from_beginning": ("Toàn bộ nhật ký thay đổi", "The whole change log"),
    "subs.secret": ("Khoá ký (HMAC)", "Signing secret (HMAC)"),
    "subs.secret_created": ("Lưu khoá ký ngay: nó chỉ hiển thị một lần.",
                            "Store the signing secret now: it is shown only once."),
    "subs.position": ("Đã gửi đến", "Delivered up to"),
    "subs.delivered": ("Sự kiện đã gửi", "Events delivered"),
    "subs.last_delivered": ("Lần gửi cuối", "Last delivery"),
    "subs.last_error": ("Lỗi gần nhất", "Last error"),
    "subs.dead": ("Thư chết", "Dead letters"),
    "subs.deliveries": ("Lượt gửi gần đây", "Recent deliveries"),
    "subs.events": ("Sự kiện", "Events"),
    "subs.attempt": ("Lần thử", "Attempt"),
    "subs.http": ("Mã HTTP", "HTTP status"),
    "subs.redeliver_all": ("Gửi lại tất cả thư chết", "Redeliver every dead letter"),
    "subs.redeliver": ("Gửi lại", "Redeliver"),
    "subs.redelivered": ("Đã xếp {count} thư chết để gửi lại.",
                         "{count} dead letters queued for redelivery."),
    "subs.pause": ("Tạm dừng", "Pause"),
    "subs.resume": ("Tiếp tục", "Resume"),
    "subs.rotate": ("Đổi khoá ký", "Rotate secret"),
    "subs.back": ("Về danh sách đăng ký", "Back to subscriptions"),
    # Codes the hub stores, as words (see _labels: enum.<group>.<code>).
    "enum.run_status.running": ("Đang chạy", "Running"),
    "enum.run_status.succeeded": ("Thành công", "Succeeded"),
    "enum.run_status.failed": ("Thất bại", "Failed"),
    "enum.run_status.interrupted": ("Bị gián đoạn", "Interrupted"),
    "enum.run_trigger.manual": ("Chạy thủ công", "Manual"),
    "enum.run_trigger.schedule": ("Theo lịch", "Scheduled"),
    "enum.run_kind.pull": ("Lấy dữ liệu", "Pull"),
    "enum.run_kind.reconcile": ("Đối soát", "Reconcile"),
    "enum.delivery_outcome.delivered": ("Đã gửi", "Delivered"),
    "enum.delivery_outcome.failed": ("Gửi lỗi, sẽ thử lại", "Failed, will retry"),
    "enum.delivery_outcome.dead_lettered": ("Vào hàng thư chết", "Dead-lettered"),
    "enum.dead_status.dead": ("Thư chết", "Dead letter"),
    "enum.dead_status.redeliver": ("Chờ gửi lại", "Queued for redelivery"),
    "enum.dead_status.redelivered": ("Đã gửi lại", "Redelivered"),
    "enum.audit_outcome.ok": ("Thành công", "OK"),
    "enum.audit_outcome.failed": ("Thất bại", "Failed"),
    "enum.audit_outcome.denied": ("Bị từ chối quyền", "Denied"),
    "enum.audit_outcome.refused": ("Bị từ chối", "Refused"),
    "enum.audit_outcome.delivered": ("Đã gửi", "Delivered"),
    "enum.actor_kind.admin": ("quản trị viên", "admin"),
    "enum.actor_kind.client": ("ứng dụng (OAuth2)", "client (OAuth2)"),
    "enum.actor_kind.api_key": ("API key", "API key"),
    "enum.actor_kind.dev": ("tài khoản thử nghiệm", "development"),
    "enum.actor_kind.system": ("hệ thống", "system"),
    "enum.actor_kind.anonymous": ("chưa xác thực", "anonymous"),
    "enum.conn_kind.rest": ("API REST của cơ quan", "Agency REST API"),
    "enum.conn_kind.hub": ("Luồng thay đổi của hub khác", "Another hub's change feed"),
    "enum.auth_type.none": ("Không xác thực", "None"),
    "enum.auth_type.api_key": ("API key trong header", "API key in a header"),
    "enum.auth_type.oauth2": ("OAuth2 (client credentials)", "OAuth2 (client credentials)"),
    "enum.auth_method.client_secret_basic": ("Khoá bí mật qua HTTP Basic",
                                             "Client secret, HTTP Basic"),
    "enum.auth_method.client_secret_post": ("Khoá bí mật trong thân yêu cầu",
                                            "Client secret in the body"),
    "enum.auth_method.private_key_jwt": ("Khoá riêng ký JWT", "Private key JWT"),
    "enum.pagination_style.page": ("Theo số trang", "Page number"),
    "enum.pagination_style.offset": ("Theo vị trí (offset)", "Offset"),
    "enum.pagination_style.cursor": ("Theo con trỏ", "Cursor"),
    "enum.pagination_style.link": ("Theo header Link", "Link header"),
    "enum.pagination_style.none": ("Một trang duy nhất", "A single page"),
    "enum.date_format.dd/mm/yyyy": ("ngày/tháng/năm (31/12/2025)", "dd/mm/yyyy"),
    "enum.date_format.dd-mm-yyyy": ("ngày-tháng-năm (31-12-2025)", "dd-mm-yyyy"),
    "enum.date_format.dd.mm.yyyy": ("ngày.tháng.năm (31.12.2025)", "dd.mm.yyyy"),
    "enum.date_format.yyyy-mm-dd": ("năm-tháng-ngày (2025-12-31)", "yyyy-mm-dd"),
    "enum.date_format.mm/dd/yyyy": ("tháng/ngày/năm (12/31/2025)", "mm/dd/yyyy"),
    "enum.date_format.yyyymmdd": ("năm tháng ngày liền (20251231)", "yyyymmdd"),
    "enum.visibility.private": ("Nội bộ cơ quan", "Private"),
    "enum.visibility.shared": ("Chia sẻ giữa các cơ quan", "Shared"),
    "enum.visibility.public": ("Công khai", "Public"),
    "enum.channel.push": ("API (đẩy dữ liệu)", "API push"),
    "enum.channel.pull": ("Kéo dữ liệu", "Pull"),
    "enum.channel.file": ("Nhập tệp", "File import"),
    "enum.channel.connector": ("Connector (hub tự lấy)", "Connector"),
    "enum.channel.graphql": ("GraphQL", "GraphQL"),
    "enum.channel.console": ("Bảng điều khiển", "Console"),
    "enum.op.upsert": ("Tạo mới / cập nhật", "Create / update"),
    "enum.op.delete": ("Xoá", "Delete"),
    "enum.file_role.main": ("Tệp chính", "Main file"),
    "enum.file_role.cover": ("Ảnh bìa", "Cover"),
    "enum.file_role.subtitles": ("Phụ đề", "Subtitles"),
    "enum.file_role.slides": ("Bài trình chiếu", "Slides"),
    "enum.file_role.transcript": ("Bản ghi lời", "Transcript"),
}


def translator(lang: str) -> Callable[..., str]:
    index = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        pair = STRINGS.get(key)
        text = key if pair is None else pair[index]
        return text.format(**values) if values else text

    return t


def fmt_date(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy; a datetime is shown as its date in Vietnam."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = local(value).date()
    return value.strftime("%d/%m/%Y")


def local(value: datetime) -> datetime:
    if value.tzinfo is None:  # stored times are UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM)


def fmt_datetime(value: datetime | str | None) -> str:
    """dd/mm/yyyy HH:MM in Asia/Ho_Chi_Minh; an ISO 8601 string (a provenance's
    source_updated_at) is read first, and shown as it is if it is none."""
    if isinstance(value, str):
        try:
            return local(datetime.fromisoformat(value)).strftime("%d/%m/%Y %H:%M")
        except ValueError:
            return value
    return "" if value is None else local(value).strftime("%d/%m/%Y %H:%M")


def fmt_vnd(value: int | None) -> str:
    """An amount in dong as the console shows it: 1.250.000 ₫."""
    return "" if value is None or isinstance(value, bool) else f"{fmt_number(value)} ₫"


def fmt_number(value: float | int | None, decimals: int = 0) -> str:
    """Vietnamese number format: 1.234,5 (dot thousands, decimal comma)."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def parse_date(text: str) -> date | None:
    """dd/mm/yyyy (what people type) or yyyy-mm-dd (what date inputs send); None if empty;
    ValueError when it is neither."""
    text = text.strip()
    if not text:
        return None
    if "/" in text:
        day, month, year = (int(p) for p in text.split("/"))
        return date(year, month, day)
    return date.fromisoformat(text)
