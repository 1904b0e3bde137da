"""Demo catalogue from five news articles about real trainings (idempotent; demo mode only).

Where an article gives no JP or module split, the values are illustrative and
the course description says so.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.core.security import Principal
from app.models import Agency, Course
from app.models.cohort import CohortCreate, CohortSessionCreate, CohortStatus
from app.models.course import CourseCreate, CourseStatus, CourseUpdate
from app.models.curriculum import CurriculumCreate, ModuleIn
from app.services import cohort_sessions, cohorts, courses, curricula
from app.services.demo import ensure_demo_agencies

ILLUSTRATIVE = (
    "JP dan pembagian mata pelatihan bersifat ilustratif (tidak disebutkan dalam berita)."
)
PATH = (CohortStatus.open, CohortStatus.closed, CohortStatus.running, CohortStatus.evaluation,
        CohortStatus.completed)  # fmt: skip


def _m(title: str, jp: float, mode: str, weight: float = 0) -> ModuleIn:
    return ModuleIn.model_validate(
        {
            "title": title,
            "jp": Decimal(str(jp)),
            "mode": mode,
            "assessed": weight > 0,
            "weight": weight,
        }
    )


COURSES: list[dict[str, Any]] = [
    {
        "agency": "bkpsdm-kab-tangerang",
        "partners": ["lan-ri"],
        "course": {
            "code": "PSK-2025",
            "title": "Pelatihan Sosial Kultural",
            "summary": "Pelatihan blended BKPSDM Kabupaten Tangerang bersama LAN RI bagi pejabat pengawas.",
            "description": "Pembelajaran mandiri di ASN Berpijar, mitigasi konflik horizontal antar suku, "
            "ras dan agama, aktualisasi dan diskusi pengalaman peserta; 73 JP per angkatan. "
            "Pembagian JP per mata pelatihan bersifat ilustratif.",
            "kind": "training",
            "competency_type": "socio_cultural",
            "level": "Pengawas",
            "delivery": "blended",
            "total_jp": 73,
            "tags": ["sosial kultural", "blended learning", "ASN Berpijar"],
        },
        "modules": [
            _m("Wawasan sosial kultural (mandiri, ASN Berpijar)", 21, "self_paced"),
            _m("Keberagaman dan pelayanan publik (mandiri, ASN Berpijar)", 12, "self_paced"),
            _m(
                "Mitigasi konflik horizontal antar suku, ras, dan agama di lingkungan Pemkab Tangerang",
                18,
                "synchronous_virtual",
                30,
            ),  # fmt: skip
            _m("Aktualisasi", 16, "actualization", 50),
            _m("Diskusi pengalaman peserta", 6, "synchronous_virtual", 20),
        ],
        "cohorts": [
            {
                "number": n,
                "year": 2025,
                "starts_on": "2025-05-14",
                "ends_on": "2025-05-26",
                "capacity": 40,
                "platform": "ASN Berpijar",
                "timezone": "Asia/Jakarta",
            }
            for n in (1, 2)
        ],  # fmt: skip
        "sessions": [],
    },
    {
        "agency": "polda-sultra",
        "names": ["BKN (Deputi Bidang Pengawasan dan Pengendalian)"],
        "course": {
            "code": "NETRAL-PEMILU-2024",
            "title": "Sosialisasi Netralitas ASN menjelang Pemilu 2024",
            "summary": "Sosialisasi daring melalui Zoom oleh Bagrimdik Ro SDM Polri bersama BKN.",
            "description": "Netralitas ASN menjelang Pemilu 2024. " + ILLUSTRATIVE,
            "kind": "socialization",
            "competency_type": "basic",
            "delivery": "online",
            "total_jp": 3,
            "tags": ["netralitas", "pemilu 2024"],
        },
        "modules": [_m("Netralitas ASN dalam Pemilu 2024", 3, "synchronous_virtual")],
        "cohorts": [
            {
                "number": 1,
                "year": 2023,
                "starts_on": "2023-12-15",
                "ends_on": "2023-12-15",
                "platform": "Zoom",
                "venue": "Aula Dachara Polda Sultra",
                "timezone": "Asia/Makassar",
            }
        ],  # fmt: skip
        "sessions": [("2023-12-15T09:00:00", "2023-12-15T11:15:00", "Asia/Makassar")],
    },
    {
        "agency": "kemenko-polhukam",
        "course": {
            "code": "NETRAL-PILKADA-BOGOR-2024",
            "title": "Workshop Penguatan Netralitas ASN menghadapi Pilkada 2024",
            "summary": "Workshop Kemenko Polhukam di Kota Bogor bagi lurah, camat, Satpol PP dan Kesbangpol.",
            "description": "Penguatan kepamongprajaan melalui netralitas ASN menghadapi Pilkada 2024 "
            "di lingkungan Pemerintah Kota Bogor. Tanggal pelaksanaan dan " + ILLUSTRATIVE,
            "kind": "workshop",
            "competency_type": "basic",
            "delivery": "classroom",
            "total_jp": 6,
            "tags": ["netralitas", "pilkada 2024"],
        },
        "modules": [
            _m("Netralitas ASN dan stabilitas pelayanan publik", 3, "classroom"),
            _m("Diskusi tantangan netralitas menjelang Pilkada", 3, "classroom"),
        ],
        "cohorts": [
            {
                "number": 1,
                "year": 2024,
                "starts_on": "2024-08-20",
                "ends_on": "2024-08-20",
                "venue": "Kota Bogor",
                "timezone": "Asia/Jakarta",
            }
        ],  # fmt: skip
        "sessions": [],
    },
    {
        "agency": "bakesbangpol-kota-batu",
        "course": {
            "code": "NETRAL-RADIKAL-BATU-2024",
            "title": "Sosialisasi Netralitas ASN dan Anti Radikalisme",
            "summary": "Sosialisasi Pemerintah Kota Batu di GOR Gajah Mada, terbuka bagi undangan non-ASN.",
            "description": "Netralitas ASN menjelang Pilkada Kota Batu 2024 dan anti radikalisme; "
            "500 undangan termasuk kepala SMA/SMK. " + ILLUSTRATIVE,
            "kind": "socialization",
            "competency_type": "basic",
            "delivery": "classroom",
            "total_jp": 4,
            "open_to_non_asn": True,
            "tags": ["netralitas", "anti radikalisme"],
        },
        "modules": [
            _m("Netralitas ASN dalam Pilkada", 2, "classroom"),
            _m("Moderasi beragama dan anti radikalisme", 2, "classroom"),
        ],
        "cohorts": [
            {
                "number": 1,
                "year": 2024,
                "starts_on": "2024-10-29",
                "ends_on": "2024-10-29",
                "capacity": 500,
                "venue": "GOR Gajah Mada, Kecamatan Batu",
                "timezone": "Asia/Jakarta",
            }
        ],  # fmt: skip
        "sessions": [],
    },
    {
        "agency": "polda-banten",
        "course": {
            "code": "CEGAH-RADIKAL-2025",
            "title": "Pelatihan pencegahan radikalisme dan intoleransi bagi PNS",
            "summary": "Pelatihan Binmas Polda Banten; diakhiri penandatanganan komitmen bersama.",
            "description": "Bahaya radikalisme, deteksi dini paham ekstrem, penguatan nilai Pancasila "
            "dan komunikasi lintas agama. Tanggal pelaksanaan dan " + ILLUSTRATIVE,
            "kind": "training",
            "competency_type": "socio_cultural",
            "delivery": "classroom",
            "total_jp": 8,
            "tags": ["radikalisme", "intoleransi"],
        },
        "modules": [
            _m("Bahaya radikalisme dan deteksi dini", 3, "classroom", 50),
            _m("Penguatan nilai Pancasila dan komunikasi lintas agama", 4, "classroom", 50),
            _m("Tanya jawab dan penandatanganan komitmen bersama", 1, "classroom"),
        ],
        "cohorts": [
            {
                "number": 1,
                "year": 2025,
                "starts_on": "2025-09-10",
                "ends_on": "2025-09-10",
                "venue": "Aula pemerintahan, Provinsi Banten",
                "timezone": "Asia/Jakarta",
            }
        ],  # fmt: skip
        "sessions": [],
    },
]


def seed_catalogue(session: Session) -> list[str]:
    agencies: dict[str, Agency] = ensure_demo_agencies(session)
    lines: list[str] = []
    for spec in COURSES:
        agency = agencies[spec["agency"]]
        code = spec["course"]["code"]
        if session.exec(
            select(Course).where(Course.agency_id == agency.id, Course.code == code)
        ).first():
            continue
        actor = Principal(
            subject="demo-seeder", agency_id=agency.id, roles=frozenset({"agency_admin"})
        )
        data = CourseCreate.model_validate(
            {
                **spec["course"],
                "partner_agency_ids": [agencies[s].id for s in spec.get("partners", [])],
                "partners": spec.get("names", []),
            }
        )
        course = courses.create_course(session=session, principal=actor, data=data)
        draft, _ = curricula.create_draft(
            session=session,
            principal=actor,
            course_id=course.id,
            data=CurriculumCreate(modules=spec["modules"]),
        )
        curricula.publish(session=session, principal=actor, course_id=course.id, version=1)
        courses.update_course(session=session, principal=actor, course_id=course.id,
                              data=CourseUpdate(status=CourseStatus.published))  # fmt: skip
        for values in spec["cohorts"]:
            cohort, _ = cohorts.create_cohort(
                session=session,
                principal=actor,
                data=CohortCreate.model_validate({**values, "course_id": course.id}),
            )
            for start, end, zone in spec["sessions"]:
                tz = ZoneInfo(zone)
                cohort_sessions.create_session(
                    session=session,
                    principal=actor,
                    cohort_id=cohort.id,
                    data=CohortSessionCreate(
                        module_id=draft.modules[0].id,
                        starts_at=datetime.fromisoformat(start).replace(tzinfo=tz),
                        ends_at=datetime.fromisoformat(end).replace(tzinfo=tz),
                        meeting_url=None,
                        location=values.get("venue"),
                    ),
                )
            for status in PATH:
                cohorts.transition(session=session, principal=actor, cohort_id=cohort.id, to=status)
        lines.append(f"course {code} ({agency.name}): {len(spec['cohorts'])} cohort(s)")
    return lines
