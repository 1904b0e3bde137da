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
    "database_unavailable": {
        "en": ("Database unavailable", "The database is not available right now; retry later."),
        "id": ("Basis data tidak tersedia", "Basis data sedang tidak tersedia; coba lagi nanti."),
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


# --- field errors ------------------------------------------------------------------
# Every validation ``type`` the service produces (pydantic's and its own), as
# ``(English, Indonesian)`` templates filled from the error's ``ctx``. Each says how to
# fix the field. A type missing here still gets an Indonesian sentence (FALLBACK_ID).

FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("Fill in this field.", "Isian ini wajib diisi."),
    "extra_forbidden": (
        "Remove this field: the contract does not know it (check the spelling).",
        "Hapus isian ini: kontrak tidak mengenalnya (periksa ejaannya).",
    ),
    "unknown_query_parameter": (
        "Remove this query parameter: the contract does not know it (check the spelling).",
        "Hapus parameter kueri ini: kontrak tidak mengenalnya (periksa ejaannya).",
    ),
    "repeated_query_parameter": (
        "Give this query parameter once: it takes a single value.",
        "Berikan parameter kueri ini satu kali saja: nilainya hanya satu.",
    ),
    "string_type": ("Send a text string.", "Kirim berupa teks (string)."),
    "string_too_short": (
        "Write at least {min_length} character(s).",
        "Tulis paling sedikit {min_length} karakter.",
    ),
    "string_too_long": (
        "Shorten it to at most {max_length} characters.",
        "Persingkat menjadi paling banyak {max_length} karakter.",
    ),
    "string_pattern_mismatch": (
        "Write it in the form the pattern {pattern} allows.",
        "Tulis dalam bentuk yang diizinkan pola {pattern}.",
    ),
    "int_type": ("Send a whole number, e.g. 3.", "Kirim bilangan bulat, misalnya 3."),
    "int_parsing": ("Send a whole number, e.g. 3.", "Kirim bilangan bulat, misalnya 3."),
    "int_from_float": (
        "Send a whole number without a fraction, e.g. 3.",
        "Kirim bilangan bulat tanpa pecahan, misalnya 3.",
    ),
    "number_type": ("Send a JSON number, e.g. 1.5.", "Kirim angka JSON, misalnya 1.5."),
    "bool_type": ("Send true or false.", "Kirim true atau false."),
    "bool_parsing": ("Send true or false.", "Kirim true atau false."),
    "greater_than": ("Use a number greater than {gt}.", "Gunakan angka lebih besar dari {gt}."),
    "greater_than_equal": (
        "Use a number of at least {ge}.",
        "Gunakan angka paling sedikit {ge}.",
    ),
    "less_than": ("Use a number less than {lt}.", "Gunakan angka lebih kecil dari {lt}."),
    "less_than_equal": (
        "Use a number of at most {le}.",
        "Gunakan angka paling banyak {le}.",
    ),
    "multiple_of": (
        "Use a multiple of {multiple_of} (e.g. 1, 1.5, 2).",
        "Gunakan kelipatan {multiple_of} (misalnya 1; 1,5; 2).",
    ),
    "decimal_max_places": (
        "Use at most {decimal_places} decimal places.",
        "Gunakan paling banyak {decimal_places} angka di belakang koma.",
    ),
    "enum": ("Use one of: {expected}.", "Gunakan salah satu dari: {expected}."),
    "literal_error": ("Use one of: {expected}.", "Gunakan salah satu dari: {expected}."),
    "list_type": ("Send a JSON array.", "Kirim berupa larik JSON (array)."),
    "too_short": (
        "Give at least {min_length} item(s).",
        "Berikan paling sedikit {min_length} butir.",
    ),
    "too_long": (
        "Give at most {max_length} items.",
        "Berikan paling banyak {max_length} butir.",
    ),
    "model_type": ("Send a JSON object.", "Kirim berupa objek JSON."),
    "model_attributes_type": ("Send a JSON object.", "Kirim berupa objek JSON."),
    "dict_type": ("Send a JSON object.", "Kirim berupa objek JSON."),
    "json_invalid": ("Fix the JSON syntax.", "Perbaiki sintaks JSON."),
    "date_format": (
        "Write the date as YYYY-MM-DD, e.g. 2025-03-17.",
        "Tulis tanggal sebagai YYYY-MM-DD, misalnya 2025-03-17.",
    ),
    "datetime_format": (
        "Write the time as YYYY-MM-DDTHH:MM:SS with an offset, e.g. 2025-03-17T08:00:00+07:00.",
        "Tulis waktu sebagai YYYY-MM-DDTHH:MM:SS dengan offset, misalnya 2025-03-17T08:00:00+07:00.",
    ),
    "datetime_offset": (
        "Add the time and a UTC offset such as +07:00 (WIB) or Z.",
        "Tambahkan jam dan offset UTC seperti +07:00 (WIB) atau Z.",
    ),
    "date_out_of_range": (
        "Use a date between {min_year} and {max_year}.",
        "Gunakan tanggal antara tahun {min_year} dan {max_year}.",
    ),
    "timezone_unknown": (
        "Use an IANA time zone name such as Asia/Jakarta.",
        "Gunakan nama zona waktu IANA seperti Asia/Jakarta.",
    ),
    "email_format": (
        "Write an email address such as nama@instansi.go.id.",
        "Tulis alamat email seperti nama@instansi.go.id.",
    ),
    "password_is_email": (
        "Choose a password that is not the email address.",
        "Pilih kata sandi yang bukan alamat email.",
    ),
    "grade_bands_floor": (
        "Give the last band above=null (it takes every other score).",
        "Beri predikat terakhir above=null (untuk semua nilai lainnya).",
    ),
    "grade_bands_order": (
        "Order the bands from the highest threshold down.",
        "Urutkan predikat dari ambang tertinggi ke bawah.",
    ),
    "invalid_cursor": (
        "Start again without the cursor: this one was not given out for this list.",
        "Mulai lagi tanpa cursor: cursor ini tidak diberikan untuk daftar ini.",
    ),
}

# How to fix a pattern mismatch, by pattern (the generic template names the pattern).
PATTERN_MESSAGES: dict[str, tuple[str, str]] = {}

FALLBACK_ID = "Nilai ini tidak valid; periksa dokumentasi API untuk bentuk yang benar."

_WORDS_ID = {" or ": " atau ", " and ": " dan "}


def field_message(kind: str, ctx: dict[str, object] | None, lang: str, fallback: str) -> str:
    """The message for one field error of ``kind`` in ``lang``; ``fallback`` is pydantic's."""
    ctx = dict(ctx or {})
    if kind == "string_pattern_mismatch" and str(ctx.get("pattern")) in PATTERN_MESSAGES:
        en, id_ = PATTERN_MESSAGES[str(ctx["pattern"])]
    elif kind in FIELD_MESSAGES:
        en, id_ = FIELD_MESSAGES[kind]
    else:
        return fallback if lang == "en" else FALLBACK_ID
    template = id_ if lang == "id" else en
    values = {k: _shown(v, lang) for k, v in ctx.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return (en if lang == "en" else id_).split("{")[0].rstrip(" :(") + "."


def _shown(value: object, lang: str) -> str:
    text = str(value)
    if lang == "id":
        for en, id_ in _WORDS_ID.items():
            text = text.replace(en, id_)
    return text
