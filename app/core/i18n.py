"""The few words the API speaks itself: error titles and details in English and Indonesian."""

from __future__ import annotations

SUPPORTED = ("en", "id")

# code -> {lang: (title, default detail)}
MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "bad_request": {
        "en": ("Bad request", "The request could not be understood."),
        "id": ("Permintaan tidak valid", "Permintaan tidak dapat dipahami."),
    },
    "unauthorized": {
        "en": ("Unauthorized", "Send a valid bearer token in the Authorization header."),
        "id": ("Tidak terautentikasi", "Kirim token bearer yang sah pada header Authorization."),
    },
    "forbidden": {
        "en": ("Forbidden", "Your role does not allow this action."),
        "id": ("Akses ditolak", "Peran Anda tidak mengizinkan tindakan ini."),
    },
    "not_found": {
        "en": ("Not found", "No resource exists at this address."),
        "id": ("Tidak ditemukan", "Tidak ada sumber daya pada alamat ini."),
    },
    "method_not_allowed": {
        "en": ("Method not allowed", "This address does not accept that HTTP method."),
        "id": ("Metode tidak diizinkan", "Alamat ini tidak menerima metode HTTP tersebut."),
    },
    "not_acceptable": {
        "en": ("Not acceptable", "The requested representation is not available."),
        "id": ("Tidak dapat diterima", "Representasi yang diminta tidak tersedia."),
    },
    "conflict": {
        "en": ("Conflict", "The request conflicts with the current state of the resource."),
        "id": ("Konflik", "Permintaan bertentangan dengan keadaan sumber daya saat ini."),
    },
    "precondition_failed": {
        "en": ("Precondition failed", "The resource changed since you read it; fetch it again."),
        "id": ("Prasyarat gagal", "Sumber daya telah berubah sejak Anda membacanya; ambil ulang."),
    },
    "payload_too_large": {
        "en": ("Payload too large", "The request body is larger than this service accepts."),
        "id": (
            "Muatan terlalu besar",
            "Badan permintaan melebihi batas yang diterima layanan ini.",
        ),
    },
    "unsupported_media_type": {
        "en": ("Unsupported media type", "Send the body in a content type this endpoint accepts."),
        "id": ("Jenis media tidak didukung", "Kirim badan dengan jenis konten yang diterima."),
    },
    "validation_error": {
        "en": ("Invalid input", "Some fields are missing or invalid; see errors."),
        "id": ("Masukan tidak valid", "Beberapa isian kosong atau tidak valid; lihat errors."),
    },
    "too_many_requests": {
        "en": ("Too many requests", "Slow down and retry after the time in Retry-After."),
        "id": ("Terlalu banyak permintaan", "Coba lagi setelah waktu pada Retry-After."),
    },
    "internal_error": {
        "en": ("Internal server error", "Something went wrong on our side; quote the request id."),
        "id": ("Kesalahan server", "Terjadi kesalahan di sisi kami; sebutkan request id."),
    },
    "service_unavailable": {
        "en": ("Service unavailable", "The service cannot answer right now; retry later."),
        "id": ("Layanan tidak tersedia", "Layanan belum dapat menjawab; coba lagi nanti."),
    },
}

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def negotiate(accept_language: str | None) -> str:
    """Pick 'id' or 'en' from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return "en"
    best, best_q = "en", -1.0
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in SUPPORTED and q > best_q:
            best, best_q = primary, q
    return best


def message(code: str, lang: str) -> tuple[str, str] | None:
    entry = MESSAGES.get(code)
    if entry is None:
        return None
    return entry.get(lang) or entry["en"]
