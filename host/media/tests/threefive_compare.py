"""Compares Stagebox's reading of SCTE-35 cues with threefive's, field by field.

Input: a JSON-lines file, each line {"base64": cue, "ours": Stagebox's JSON}.
Each cue is decoded by threefive; both readings are brought to one flat form
(field path -> value, times in 90 kHz ticks, ids as integers) and compared.
Prints "cues compared: N" and "fields compared: M"; exits 1 listing the first
disagreements if there are any.
"""

import json
import sys

import threefive

DEVICE_RESTRICTIONS = {
    "Restrict Group 0": 0,
    "Restrict Group 1": 1,
    "Restrict Group 2": 2,
    "No Restrictions": 3,
}
UPID_CODES = {
    "not_used": 0x00, "user_defined": 0x01, "isci": 0x02, "ad_id": 0x03, "umid": 0x04,
    "isan_deprecated": 0x05, "isan": 0x06, "tid": 0x07, "airing_id": 0x08, "adi": 0x09,
    "eidr": 0x0A, "atsc": 0x0B, "mpu": 0x0C, "mid": 0x0D, "ads_info": 0x0E, "uri": 0x0F,
    "uuid": 0x10, "scr": 0x11,
}
COMMAND_CODES = {
    "splice_null": 0x00, "splice_schedule": 0x04, "splice_insert": 0x05, "time_signal": 0x06,
    "bandwidth_reservation": 0x07, "private_command": 0xFF,
}
# threefive 3.1.5 reads 28 of a UMID's 32 bytes and the other 4 as the
# fields after the UPID, so those fields of a descriptor with a UMID are not
# compared (they are counted as skipped).
AFTER_UMID = ("segmentation_type_id", "segment_num", "segments_expected", "sub_segment_num", "sub_segments_expected")
DESCRIPTOR_TAGS = {"avail": 0, "dtmf": 1, "segmentation": 2, "time": 3, "audio": 4}


def ticks(seconds):
    return None if seconds is None else round(seconds * 90000)


def as_int(value):
    """threefive prints many integers as hex strings."""
    if isinstance(value, str):
        return int(value, 16)
    return value


def text(field):
    """Our Text fields: a string, or {"hex": ...} for bytes that are not UTF-8."""
    if isinstance(field, dict):
        return bytes.fromhex(field["hex"])
    return field.encode()


def threefive_hex(data):
    """threefive's Bitn.as_hex: hex of the integer, padded to an even length."""
    h = hex(int.from_bytes(data, "big"))
    return h if len(h) % 2 == 0 else h.replace("0x", "0x0", 1)


def upid_value(upid):
    """Our UPID as threefive shows it (upids.py)."""
    kind = upid["upid_type"]
    if kind == "not_used":
        return ""
    if kind in ("user_defined", "isci", "ad_id", "tid", "adi", "ads_info", "uri", "scr"):
        return text(upid["value"]).decode("ascii", errors="replace")
    if kind == "uuid":
        return bytes.fromhex(upid["value"]).decode("ascii", errors="replace")
    if kind == "umid":
        # threefive prints 32-bit chunks while more than 32 bits remain, so it
        # leaves out the UMID's last 4 bytes (and reads them as the fields
        # that follow: see AFTER_UMID); compare what it shows.
        data = bytes.fromhex(upid["value"])
        return ".".join(threefive_hex(data[i:i + 4])[2:] for i in range(0, 28, 4))
    if kind in ("isan", "isan_deprecated"):
        return threefive_hex(bytes.fromhex(upid["value"]))
    if kind == "airing_id":
        return threefive_hex(upid["value"].to_bytes(8, "big"))
    if kind == "eidr":
        data = bytes.fromhex(upid["value"])
        return threefive_hex(data[:2]) + data[2:].hex()
    if kind == "atsc":
        return {
            "TSID": upid["tsid"], "reserved": upid["reserved"], "end_of_day": upid["end_of_day"],
            "unique_for": upid["unique_for"],
            "content_id": text(upid["content_id"]).decode("ascii", errors="replace"),
        }
    if kind == "mpu":
        return {
            "format_identifier": upid["format_identifier"].to_bytes(4, "big").decode("ascii"),
            "private_data": threefive_hex(bytes.fromhex(upid["private_data"])),
        }
    if kind == "mid":
        return [
            {
                "upid_type": UPID_CODES[u["upid_type"]],
                "upid_length": len(upid_body(u)),
                "segmentation_upid": upid_value(u),
            }
            for u in upid["upids"]
        ]
    raise ValueError(f"no threefive form for UPID {kind}")


def upid_body(upid):
    """Length of our UPID's bytes, for MID entries."""
    kind = upid["upid_type"]
    if kind in ("user_defined", "isci", "ad_id", "tid", "adi", "ads_info", "uri", "scr"):
        return text(upid["value"])
    if kind == "airing_id":
        return b"\0" * 8
    if kind == "mid":
        return b"".join(b"\0\0" + upid_body(u) for u in upid["upids"])
    if kind == "mpu":
        return b"\0" * 4 + bytes.fromhex(upid["private_data"])
    if kind == "atsc":
        return b"\0" * 4 + text(upid["content_id"])
    return bytes.fromhex(upid["value"]) if "value" in upid else b""


def flat_ours(ours):
    f = {
        "sap_type": ours["sap_type"],
        "protocol_version": ours["protocol_version"],
        "pts_adjustment": ours["pts_adjustment"],
        "cw_index": ours["cw_index"],
        "tier": ours["tier"],
    }
    payload = ours["payload"]
    f["encrypted_packet"] = payload["encrypted_packet"] == "true"
    cmd = payload["command"]
    name = cmd["command"]
    f["command.command_type"] = COMMAND_CODES[name]
    if name == "time_signal":
        f["command.time_specified_flag"] = cmd["splice_time"]["pts_time"] is not None
        f["command.pts_time"] = cmd["splice_time"]["pts_time"]
    elif name == "private_command":
        f["command.identifier"] = cmd["identifier"]
        f["command.private_bytes"] = bytes.fromhex(cmd["private_bytes"])
    elif name == "splice_insert":
        f["command.splice_event_id"] = cmd["splice_event_id"]
        f["command.splice_event_cancel_indicator"] = cmd["splice_event_cancel_indicator"]
        e = cmd["event"]
        if e is not None:
            f["command.out_of_network_indicator"] = e["out_of_network_indicator"]
            f["command.program_splice_flag"] = e["program_splice_flag"]
            f["command.duration_flag"] = e["break_duration"] is not None
            f["command.splice_immediate_flag"] = e["splice_immediate_flag"]
            f["command.event_id_compliance_flag"] = e["event_id_compliance_flag"]
            if e["splice_time"] is not None:
                f["command.time_specified_flag"] = e["splice_time"]["pts_time"] is not None
                f["command.pts_time"] = e["splice_time"]["pts_time"]
            if e["break_duration"] is not None:
                f["command.break_auto_return"] = e["break_duration"]["auto_return"]
                f["command.break_duration"] = e["break_duration"]["duration"]
            f["command.unique_program_id"] = e["unique_program_id"]
            f["command.avail_num"] = e["avail_num"]
            f["command.avails_expected"] = e["avails_expected"]
    for i, d in enumerate(payload["descriptors"]):
        p = f"descriptors[{i}]."
        kind = d["descriptor"]
        f[p + "tag"] = DESCRIPTOR_TAGS.get(kind, d.get("tag"))
        if kind == "avail":
            f[p + "provider_avail_id"] = d["provider_avail_id"]
        elif kind == "dtmf":
            f[p + "preroll"] = d["preroll"]
            f[p + "dtmf_chars"] = text(d["dtmf_chars"]).decode()
        elif kind == "time":
            for k in ("tai_seconds", "tai_ns", "utc_offset"):
                f[p + k] = d[k]
        elif kind == "audio":
            # threefive keeps this descriptor's body as text: compare the bytes.
            body = bytes([0x0F | (len(d["components"]) << 4)])
            for c in d["components"]:
                body += bytes([c["component_tag"]]) + text(c["iso_code"])
                body += bytes([(c["bit_stream_mode"] << 5) | (c["num_channels"] << 1) | int(c["full_srvc_audio"])])
            f[p + "private_data"] = body.decode("ascii")
        elif kind == "segmentation":
            f[p + "segmentation_event_id"] = d["segmentation_event_id"]
            f[p + "segmentation_event_cancel_indicator"] = d["segmentation_event_cancel_indicator"]
            f[p + "segmentation_event_id_compliance_indicator"] = d["segmentation_event_id_compliance_indicator"]
            e = d["event"]
            if e is not None:
                f[p + "program_segmentation_flag"] = e["program_segmentation_flag"]
                f[p + "segmentation_duration_flag"] = e["segmentation_duration"] is not None
                r = e["delivery_restrictions"]
                f[p + "delivery_not_restricted_flag"] = r is None
                if r is not None:
                    for k in ("web_delivery_allowed_flag", "no_regional_blackout_flag", "archive_allowed_flag"):
                        f[p + k] = r[k]
                    f[p + "device_restrictions"] = r["device_restrictions"]
                if e["segmentation_duration"] is not None:
                    f[p + "segmentation_duration"] = e["segmentation_duration"]
                u = e["segmentation_upid"]
                f[p + "segmentation_upid_type"] = UPID_CODES[u["upid_type"]]
                f[p + "segmentation_upid_length"] = len(upid_body(u))
                f[p + "segmentation_upid"] = upid_value(u)
                f[p + "segmentation_type_id"] = e["segmentation_type_id"]
                f[p + "segment_num"] = e["segment_num"]
                f[p + "segments_expected"] = e["segments_expected"]
                if e["sub_segment"] is not None:
                    f[p + "sub_segment_num"] = e["sub_segment"]["sub_segment_num"]
                    f[p + "sub_segments_expected"] = e["sub_segment"]["sub_segments_expected"]
    return f


def flat_theirs(cue):
    info = cue.info_section
    f = {
        "sap_type": as_int(info.sap_type),
        "protocol_version": info.protocol_version,
        "pts_adjustment": ticks(info.pts_adjustment),
        "cw_index": as_int(info.cw_index),
        "tier": as_int(info.tier),
        "encrypted_packet": info.encrypted_packet,
    }
    c = cue.command
    f["command.command_type"] = c.command_type
    if c.command_type == 6:
        f["command.time_specified_flag"] = c.time_specified_flag
        f["command.pts_time"] = ticks(c.pts_time)
    elif c.command_type == 255:
        f["command.identifier"] = c.identifier
        f["command.private_bytes"] = bytes(c.private_bytes)
    elif c.command_type == 5:
        f["command.splice_event_id"] = c.splice_event_id
        f["command.splice_event_cancel_indicator"] = c.splice_event_cancel_indicator
        if not c.splice_event_cancel_indicator:
            for k in ("out_of_network_indicator", "program_splice_flag", "duration_flag",
                      "splice_immediate_flag", "event_id_compliance_flag"):
                f["command." + k] = getattr(c, k)
            if c.program_splice_flag and not c.splice_immediate_flag:
                f["command.time_specified_flag"] = c.time_specified_flag
                f["command.pts_time"] = ticks(c.pts_time)
            if c.duration_flag:
                f["command.break_auto_return"] = c.break_auto_return
                f["command.break_duration"] = ticks(c.break_duration)
            for k in ("unique_program_id", "avail_num", "avails_expected"):
                f["command." + k] = getattr(c, k)
    for i, d in enumerate(cue.descriptors):
        p = f"descriptors[{i}]."
        f[p + "tag"] = d.tag
        if d.tag == 0:
            f[p + "provider_avail_id"] = d.provider_avail_id
        elif d.tag == 1:
            f[p + "preroll"] = d.preroll
            f[p + "dtmf_chars"] = "".join(d.dtmf_chars)
        elif d.tag == 3:
            for k in ("tai_seconds", "tai_ns", "utc_offset"):
                f[p + k] = getattr(d, k)
        elif d.tag == 4:
            f[p + "private_data"] = d.private_data
        elif d.tag == 2:
            f[p + "segmentation_event_id"] = as_int(d.segmentation_event_id)
            f[p + "segmentation_event_cancel_indicator"] = d.segmentation_event_cancel_indicator
            f[p + "segmentation_event_id_compliance_indicator"] = d.segmentation_event_id_compliance_indicator
            if not d.segmentation_event_cancel_indicator:
                for k in ("program_segmentation_flag", "segmentation_duration_flag", "delivery_not_restricted_flag"):
                    f[p + k] = getattr(d, k)
                if not d.delivery_not_restricted_flag:
                    for k in ("web_delivery_allowed_flag", "no_regional_blackout_flag", "archive_allowed_flag"):
                        f[p + k] = getattr(d, k)
                    f[p + "device_restrictions"] = DEVICE_RESTRICTIONS[d.device_restrictions]
                if d.segmentation_duration_flag:
                    f[p + "segmentation_duration"] = ticks(d.segmentation_duration)
                f[p + "segmentation_upid_type"] = d.segmentation_upid_type
                f[p + "segmentation_upid_length"] = d.segmentation_upid_length
                upid = d.segmentation_upid
                if isinstance(upid, bytes):
                    upid = upid.decode("ascii", errors="replace")
                if isinstance(upid, list):
                    upid = [
                        {"upid_type": u["upid_type"], "upid_length": u["upid_length"],
                         "segmentation_upid": u["segmentation_upid"]}
                        for u in upid
                    ]
                if isinstance(upid, dict) and "format_identifier" in upid:
                    upid = {"format_identifier": upid["format_identifier"], "private_data": upid["private_data"]}
                f[p + "segmentation_upid"] = upid
                for k in ("segmentation_type_id", "segment_num", "segments_expected"):
                    f[p + k] = getattr(d, k)
                if getattr(d, "sub_segment_num", None) is not None:
                    f[p + "sub_segment_num"] = d.sub_segment_num
                    f[p + "sub_segments_expected"] = d.sub_segments_expected
    return f


def main(path):
    cues = fields = skipped = 0
    problems = []
    with open(path) as lines:
        for n, line in enumerate(lines):
            item = json.loads(line)
            cue = threefive.Cue(item["base64"])
            cue.decode()
            ours, theirs = flat_ours(item["ours"]), flat_theirs(cue)
            umid = {k.split(".")[0] for k, v in ours.items() if k.endswith("segmentation_upid_type") and v == 0x04}
            for key in sorted(set(ours) | set(theirs)):
                if key.split(".")[0] in umid and key.split(".")[-1] in AFTER_UMID:
                    skipped += 1
                    continue
                fields += 1
                if ours.get(key, "<absent>") != theirs.get(key, "<absent>"):
                    problems.append(
                        f"cue {n} {item['base64']}: {key}: ours {ours.get(key, '<absent>')!r}, "
                        f"threefive {theirs.get(key, '<absent>')!r}"
                    )
            cues += 1
    print(f"cues compared: {cues}")
    print(f"fields compared: {fields}")
    print(f"fields skipped after a UMID (threefive reads 28 of its 32 bytes): {skipped}")
    print(f"disagreements: {len(problems)}")
    for p in problems[:30]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
