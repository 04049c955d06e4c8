"""The historical export: one CSV row per order, with its visit. Writing a
simulated district as such an export (UTF-8 or GB18030, English or Chinese
headers, broken rows on request), and reading one back: encoding detection,
column mapping, and every malformed row reported with its line number.

Columns (the names carewatch uses; a mapping says which header holds each):
COLUMNS below, REQUIRED of them on every row; a check-in needs its time and
fix, a check-out too, evidence its time and both hashes.
"""

import codecs
import csv
import datetime
import io
import math
import random
import re

import yaml

from .district import TZ, _r7, rfc3339

COLUMNS = (
    "order_id", "provider_id", "caregiver_id", "elder_id", "street_id", "community_id",
    "home_lat", "home_lon", "home_crs", "service_type", "scheduled_start", "scheduled_minutes",
    "check_in_at", "check_in_lat", "check_in_lon", "check_in_beidou_lat", "check_in_beidou_lon",
    "face_match", "check_in_photo_sha256",
    "check_out_at", "check_out_lat", "check_out_lon", "check_out_beidou_lat",
    "check_out_beidou_lon", "voiceprint_match", "check_out_photo_sha256",
    "evidence_at", "watermark_photo_sha256", "elder_recording_sha256",
)
REQUIRED = ("order_id", "provider_id", "caregiver_id", "elder_id", "street_id", "community_id",
            "home_lat", "home_lon", "scheduled_start", "scheduled_minutes")
# The headers of a Chinese dispatch system's Excel export (the preset "zh").
ZH_HEADERS = {
    "order_id": "工单编号", "provider_id": "承接方编号", "caregiver_id": "护理员编号",
    "elder_id": "老人编号", "street_id": "街道编号", "community_id": "社区编号",
    "home_lat": "住址纬度", "home_lon": "住址经度", "home_crs": "坐标系",
    "service_type": "服务项目", "scheduled_start": "预约开始时间",
    "scheduled_minutes": "预约时长(分钟)",
    "check_in_at": "签到时间", "check_in_lat": "签到纬度", "check_in_lon": "签到经度",
    "check_in_beidou_lat": "签到北斗纬度", "check_in_beidou_lon": "签到北斗经度",
    "face_match": "人脸比对分数", "check_in_photo_sha256": "签到照片哈希",
    "check_out_at": "签退时间", "check_out_lat": "签退纬度", "check_out_lon": "签退经度",
    "check_out_beidou_lat": "签退北斗纬度", "check_out_beidou_lon": "签退北斗经度",
    "voiceprint_match": "声纹确认分数", "check_out_photo_sha256": "签退照片哈希",
    "evidence_at": "补证时间", "watermark_photo_sha256": "水印照片哈希",
    "elder_recording_sha256": "老人录音哈希",
}
PRESETS = {"en": {c: c for c in COLUMNS}, "zh": ZH_HEADERS}
CRS_NAMES = {"WGS84": "WGS84", "WGS-84": "WGS84", "GCJ02": "GCJ02", "GCJ-02": "GCJ02",
             "BD09": "BD09", "BD-09": "BD09", "": "WGS84"}
ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
LOCAL_TIME_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


# ---- writing ---------------------------------------------------------------

def _excel_time(t):
    """Epoch seconds -> "2024-05-06 09:02:13", UTC+8, as Excel shows it."""
    return datetime.datetime.fromtimestamp(t, TZ).strftime("%Y-%m-%d %H:%M:%S")


def export_rows(district, local_times=False):
    """The district's orders as export rows (dicts keyed by COLUMNS), in
    order of scheduled start."""
    fmt = _excel_time if local_times else rfc3339
    rows = []
    for o in sorted(district.orders, key=lambda o: (o["start"], o["order_id"])):
        e = district.elders[o["elder"]]
        body = district.elder_body(e)
        v = district.visits[o["order_id"]]
        row = dict.fromkeys(COLUMNS, "")
        row.update(order_id=o["order_id"], provider_id=district.streets[o["street"]]["provider"],
                   caregiver_id=o["caregiver"], elder_id=e["elder_id"],
                   street_id=body["street_id"], community_id=body["community_id"],
                   home_lat=body["home"]["lat"], home_lon=body["home"]["lon"],
                   home_crs=body["home"]["crs"], service_type=o["service_type"],
                   scheduled_start=fmt(o["start"]), scheduled_minutes=o["minutes"])
        if v["in"]:
            row.update(check_in_at=fmt(v["in_at"]), check_in_lat=_r7(v["in_fix"][0]),
                       check_in_lon=_r7(v["in_fix"][1]), check_in_photo_sha256=v["in_photo"],
                       face_match="" if v["face"] is None else v["face"])
            if v["in_beidou"]:
                row.update(check_in_beidou_lat=_r7(v["in_beidou"][0]),
                           check_in_beidou_lon=_r7(v["in_beidou"][1]))
        if v["in"] and v["out"]:
            row.update(check_out_at=fmt(v["out_at"]), check_out_lat=_r7(v["out_fix"][0]),
                       check_out_lon=_r7(v["out_fix"][1]), check_out_photo_sha256=v["out_photo"],
                       voiceprint_match="" if v["voice"] is None else v["voice"])
            if v["out_beidou"]:
                row.update(check_out_beidou_lat=_r7(v["out_beidou"][0]),
                           check_out_beidou_lon=_r7(v["out_beidou"][1]))
        for kind, body, _ in district.event_bodies(o):
            if kind == "evidence":
                row.update(evidence_at=fmt(v["evidence_at"]),
                           watermark_photo_sha256=body["watermark_photo_sha256"],
                           elder_recording_sha256=body["elder_recording_sha256"])
        rows.append(row)
    return rows


BROKEN_KINDS = ("bad_time", "missing_field", "bad_number", "column_count", "out_of_range")


def write_export(district, path, encoding="utf-8", headers="en", broken=0, seed_offset=1):
    """Writes the export; with broken > 0 that many malformed copies of
    random rows (new order ids, so the good rows are all still there) go in
    among them. Returns [(line, kind, order_id)] of the broken rows (line 1
    is the header)."""
    rnd = random.Random(district.seed + seed_offset)
    local = headers == "zh"
    rows = export_rows(district, local_times=local)
    names = PRESETS[headers]
    out = [[names[c] for c in COLUMNS]]
    broken_at = sorted(rnd.sample(range(len(rows) + broken), broken)) if broken else []
    marks = []
    good = iter(rows)
    for i in range(len(rows) + broken):
        if broken_at and i == broken_at[0]:
            broken_at.pop(0)
            kind = BROKEN_KINDS[len(marks) % len(BROKEN_KINDS)]
            row = dict(rows[rnd.randrange(len(rows))])
            row["order_id"] = "%sBROKEN-%d" % (district.prefix, len(marks) + 1)
            cells = [str(row[c]) for c in COLUMNS]
            if kind == "bad_time":
                cells[COLUMNS.index("scheduled_start")] = "2024-13-45 25:61"
            elif kind == "missing_field":
                cells[COLUMNS.index("elder_id")] = ""
            elif kind == "bad_number":
                cells[COLUMNS.index("home_lat")] = "四十一点三"
            elif kind == "column_count":
                cells = cells[:7]
            else:
                cells[COLUMNS.index("home_lat")] = "141.3"
            out.append(cells)
            marks.append((len(out), kind, row["order_id"]))
        else:
            row = next(good)
            out.append([str(row[c]) for c in COLUMNS])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(out)
    data = buf.getvalue().encode(encoding)  # "utf-8-sig" writes a BOM, as Excel does
    with open(path, "wb") as f:
        f.write(data)
    return marks


# ---- reading ---------------------------------------------------------------

def decode(data, encoding="auto"):
    """(text, encoding name): UTF-8 with or without a BOM, else GB18030 (what
    Chinese Excel writes), unless encoding names one."""
    if encoding and encoding != "auto":
        text = data.decode(encoding)
        return (text[1:] if text.startswith("\ufeff") else text), encoding
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


class Mapping:
    """Which header holds each column, and how times without an offset are
    read. Built from a preset ("en": the column names themselves, "zh": the
    Chinese headers), a YAML file and column=header overrides."""

    def __init__(self, columns=None, utc_offset="+08:00", encoding="auto"):
        self.columns = dict(columns or PRESETS["en"])
        self.utc_offset = utc_offset
        self.encoding = encoding

    @classmethod
    def load(cls, source=None, overrides=(), header=None):
        """source: None (pick the preset the header matches), "en", "zh" or a
        YAML file path ({encoding?, utc_offset?, preset?, columns: {column:
        header}}); overrides: "column=header" strings."""
        m = cls()
        doc = {}
        if source in PRESETS:
            m.columns = dict(PRESETS[source])
        elif source:
            with open(source, encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
            if not isinstance(doc, dict):
                raise ValueError("%s: a mapping file is a YAML mapping" % source)
            m.columns = dict(PRESETS[doc.get("preset", "en")])
            m.utc_offset = str(doc.get("utc_offset", m.utc_offset))
            m.encoding = str(doc.get("encoding", m.encoding))
            for col, hdr in (doc.get("columns") or {}).items():
                m._set(col, hdr)
        elif header is not None and "order_id" not in header and ZH_HEADERS["order_id"] in header:
            m.columns = dict(ZH_HEADERS)
        for item in overrides:
            col, sep, hdr = item.partition("=")
            if not sep:
                raise ValueError("--column wants column=header, not %r" % item)
            m._set(col.strip(), hdr.strip())
        _offset(m.utc_offset)
        return m

    def _set(self, col, hdr):
        if col not in COLUMNS:
            raise ValueError("unknown column %r (columns: %s)" % (col, ", ".join(COLUMNS)))
        self.columns[col] = str(hdr)


def _offset(text):
    m = re.match(r"^([+-])(\d{2}):?(\d{2})$", text)
    if not m:
        raise ValueError("utc_offset must look like +08:00, not %r" % text)
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return datetime.timezone(datetime.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))


class RowError(ValueError):
    def __init__(self, column, problem):
        super().__init__("%s: %s" % (column, problem))
        self.column = column


def parse_time(text, tz):
    """RFC 3339 with an offset, or a local "YYYY-MM-DD HH:MM[:SS]" (also with
    slashes) in tz -> epoch seconds."""
    m = LOCAL_TIME_RE.match(text)
    try:
        if m:
            y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            return int(datetime.datetime(y, mo, d, h, mi, s, tzinfo=tz).timestamp())
        if re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$", text):
            dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return int(dt.timestamp())
    except ValueError:
        pass
    raise ValueError("not a time: %r" % text)


class Row:
    """One good row: line, the parsed fields."""

    __slots__ = ("line", "f")

    def __init__(self, line, fields):
        self.line = line
        self.f = fields


def _number(row, col, lo=None, hi=None, integer=False, required=True):
    text = row.get(col, "")
    if text == "":
        if required:
            raise RowError(col, "missing")
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise RowError(col, "not a number: %r" % text) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise RowError(col, "not a number: %r" % text)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise RowError(col, "%s is out of range [%s, %s]" % (text, lo, hi))
    return value


def _time(row, col, tz, required=True):
    text = row.get(col, "")
    if text == "":
        if required:
            raise RowError(col, "missing")
        return None
    try:
        return parse_time(text, tz)
    except ValueError as e:
        raise RowError(col, str(e)) from None


def _id(row, col):
    text = row.get(col, "")
    if text == "":
        raise RowError(col, "missing")
    if not ID_RE.match(text):
        raise RowError(col, "not an id (1-64 of A-Z a-z 0-9 _ . : -): %r" % text)
    return text


def parse_row(row, tz):
    """Cells by column -> parsed fields; raises RowError."""
    f = {c: _id(row, c) for c in ("order_id", "provider_id", "caregiver_id", "elder_id",
                                  "street_id", "community_id")}
    f["home_lat"] = _number(row, "home_lat", -90, 90)
    f["home_lon"] = _number(row, "home_lon", -180, 180)
    crs = row.get("home_crs", "").strip().upper()
    if crs not in CRS_NAMES:
        raise RowError("home_crs", "unknown coordinate system %r (WGS84, GCJ02, BD09)" % crs)
    f["home_crs"] = CRS_NAMES[crs]
    f["service_type"] = row.get("service_type", "") or "home_care"
    f["scheduled_start"] = _time(row, "scheduled_start", tz)
    f["scheduled_minutes"] = _number(row, "scheduled_minutes", 1, 1440, integer=True)
    for which, score in (("check_in", "face_match"), ("check_out", "voiceprint_match")):
        at = _time(row, which + "_at", tz, required=False)
        f[which + "_at"] = at
        needed = at is not None
        f[which + "_lat"] = _number(row, which + "_lat", -90, 90, required=needed)
        f[which + "_lon"] = _number(row, which + "_lon", -180, 180, required=needed)
        f[which + "_beidou_lat"] = _number(row, which + "_beidou_lat", -90, 90, required=False)
        f[which + "_beidou_lon"] = _number(row, which + "_beidou_lon", -180, 180,
                                           required=f[which + "_beidou_lat"] is not None)
        f[score] = _number(row, score, 0, 1, required=False)
        photo = row.get(which + "_photo_sha256", "").lower()
        if photo and not re.match(r"^[0-9a-f]{64}$", photo):
            raise RowError(which + "_photo_sha256", "not a SHA-256 hex digest")
        f[which + "_photo_sha256"] = photo or None
    if f["check_out_at"] is not None and f["check_in_at"] is None:
        raise RowError("check_in_at", "missing (the row has a check-out)")
    f["evidence_at"] = _time(row, "evidence_at", tz, required=False)
    for col in ("watermark_photo_sha256", "elder_recording_sha256"):
        text = row.get(col, "").lower()
        if f["evidence_at"] is not None and not re.match(r"^[0-9a-f]{64}$", text):
            raise RowError(col, "missing or not a SHA-256 hex digest (the row has evidence)")
        f[col] = text or None
    return f


class Export:
    """A historical export read and checked: rows (good ones), problems
    [(line, message)], total data rows, the encoding found."""

    def __init__(self, path, mapping_source=None, overrides=(), encoding=None):
        with open(path, "rb") as f:
            data = f.read()
        self.path = path
        first_guess, _ = decode(data, encoding or "auto")
        header = next(csv.reader(io.StringIO(first_guess)), [])
        header = [h.strip() for h in header]
        self.mapping = Mapping.load(mapping_source, overrides, header)
        enc = encoding or self.mapping.encoding
        text, self.encoding = decode(data, enc)
        tz = _offset(self.mapping.utc_offset)
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip() for h in next(reader, [])]
        self.problems = []
        self.rows = []
        self.total = 0
        index = {}
        for col, hdr in self.mapping.columns.items():
            if hdr in header:
                index[col] = header.index(hdr)
        missing = [self.mapping.columns[c] for c in REQUIRED if c not in index]
        if missing:
            raise ValueError("%s: header has no column %s (header: %s)"
                             % (path, ", ".join(missing), ", ".join(header)))
        seen = set()
        line = reader.line_num
        for cells in reader:
            first, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            self.total += 1
            if len(cells) != len(header):
                self.problems.append((first, "%d columns, the header has %d"
                                      % (len(cells), len(header))))
                continue
            raw = {col: cells[i].strip() for col, i in index.items()}
            try:
                fields = parse_row(raw, tz)
            except RowError as e:
                hdr = self.mapping.columns.get(e.column, e.column)
                self.problems.append((first, "%s (%s)" % (e, hdr) if hdr != e.column else str(e)))
                continue
            if fields["order_id"] in seen:
                self.problems.append((first, "order_id: %s repeats an earlier row"
                                      % fields["order_id"]))
                continue
            seen.add(fields["order_id"])
            self.rows.append(Row(first, fields))
