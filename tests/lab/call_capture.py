#!/usr/bin/env python3
"""Reads one call of the floe call lab out of tshark's fields, checks its flow and prints
its timeline.

    tshark -n -2 -r CAP.pcapng --enable-heuristic rtp_udp -T fields -E separator=/t \\
        -E occurrence=a -E aggregator=, $(call_capture.py --fields) > CAP.tsv
    call_capture.py CAP.tsv --caller-if IF --callee-if IF --caller-wan IP \\
        --callee-wan IP --server IP [--min-rtp N] [--path direct|relay|any]

The capture is taken in the lab's public namespace on its link to each NAT (docs/lab.md):
--caller-if is the link to the caller's NAT, whose public address is --caller-wan, and
the same for the callee. --server is the address of kamailio and the STUN/TURN server.

Checked (each failure is a line in "errors", and the exit status is 1):
  - SIP: each side registered (REGISTER answered 200); an INVITE from the caller with an
    SDP offer holding ICE candidates reached the callee; the callee answered 200 with
    an SDP answer holding candidates; the caller sent ACK; a BYE was answered 200;
  - STUN: each side sent a Binding request to the server (port 3478) and got a success
    response (its server-reflexive candidate);
  - ICE: connectivity checks (Binding requests with USERNAME) went from each side to the
    other and got success responses, and a check carried USE-CANDIDATE (nomination).
    Checks sent through a TURN relay count, in ChannelData (tshark decodes the inner
    message) or in Send/Data indications (the DATA attribute is decoded here);
  - RTP: at least --min-rtp packets (default 50, one second of 20 ms packets) arrived at
    each side, and the media path is the one asked for: "direct" (between the two NATs'
    public addresses), "relay" (through the server) or "any" (default).

The timeline (milliseconds; "caller" times are seen on the caller's link, "callee" times
on the callee's):
  invite_to_180     INVITE sent by the caller -> first 180 reaching it
  invite_to_183     ... first 183 (absent when none)
  invite_to_200     ... the 200 OK for the INVITE reaching it
  ok_to_first_rtp_caller   200 OK reaching the caller -> first RTP packet reaching it
  ok_to_first_rtp_callee   200 OK sent by the callee -> first RTP packet reaching it
  invite_to_first_check_ok INVITE -> first success response to a connectivity check
  invite_to_nomination     INVITE -> first success response to a check with USE-CANDIDATE
  invites            INVITE transactions in the call (more than 1: a re-INVITE was sent)
It prints one JSON line: {"ok": bool, "errors": [...], "timeline_ms": {...}, "counts":
{...}, "media_path": ...}.
"""
import argparse
import json
import sys

FIELDS = ["frame.number", "frame.time_epoch", "frame.interface_name", "ip.src", "udp.srcport",
          "ip.dst", "udp.dstport", "sip.Method", "sip.Status-Code", "sip.CSeq.method",
          "sip.CSeq.seq", "sip.Call-ID", "sdp.ice_candidate.type", "stun.type", "stun.id", "stun.att.type", "rtp.p_type", "rtp.ssrc", "stun.value"]

USE_CANDIDATE, USERNAME = 0x0025, 0x0006


def rows(path):
    for line in open(path):
        vals = line.rstrip("\n").split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        r = dict(zip(FIELDS, vals))
        r["t"] = float(r["frame.time_epoch"])
        yield r


def num(v):
    """A tshark number field (decimal or 0x hex), or None."""
    if not v:
        return None
    v = v.split(",")[0]
    return int(v, 16) if v.startswith("0x") else int(v)


def inner_stun(values):
    """The STUN message carried in the DATA attribute of a Send or Data indication (a
    check relayed through TURN without a channel), which tshark leaves undecoded: its
    (type, transaction id as tshark prints it, attribute types), or None."""
    for v in values.split(","):
        try:
            b = bytes.fromhex(v.replace(":", ""))
        except ValueError:
            continue
        if len(b) < 20 or b[0] & 0xC0 or b[4:8] != bytes.fromhex("2112a442"):
            continue
        length = int.from_bytes(b[2:4], "big")
        atts, off = set(), 20
        while off + 4 <= min(len(b), 20 + length):
            atts.add(int.from_bytes(b[off:off + 2], "big"))
            off += 4 + ((int.from_bytes(b[off + 2:off + 4], "big") + 3) & ~3)
        return int.from_bytes(b[0:2], "big"), b[8:20].hex(), atts
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tsv", nargs="?")
    p.add_argument("--fields", action="store_true", help="print tshark's -e options and exit")
    p.add_argument("--caller-if")
    p.add_argument("--callee-if")
    p.add_argument("--caller-wan")
    p.add_argument("--callee-wan")
    p.add_argument("--server")
    p.add_argument("--min-rtp", type=int, default=50)
    p.add_argument("--path", choices=["direct", "relay", "any"], default="any")
    a = p.parse_args()
    if a.fields:
        print(" ".join(f"-e {f}" for f in FIELDS))
        return 0
    for need in ("tsv", "caller_if", "callee_if", "caller_wan", "callee_wan", "server"):
        if not getattr(a, need):
            p.error(f"--{need.replace('_', '-')} is required")

    side_of_if = {a.caller_if: "caller", a.callee_if: "callee"}
    wan = {"caller": a.caller_wan, "callee": a.callee_wan}
    errors = []
    first = {}  # name -> time of the first event of that name

    def mark(name, t):
        if name not in first or t < first[name]:
            first[name] = t

    registered = set()
    invites = set()
    stun_req = {}  # stun.id -> (side that sent it, carried USE-CANDIDATE, to server?)
    counts = {"sip": 0, "stun_server": {"caller": 0, "callee": 0},
              "checks_sent": {"caller": 0, "callee": 0},
              "checks_ok": {"caller": 0, "callee": 0}, "use_candidate": 0,
              "rtp_received": {"caller": 0, "callee": 0}}
    rtp_sources = {"caller": set(), "callee": set()}
    rtp_pt = set()
    offer_cands = answer_cands = False
    acked = bye_ok = False

    for r in sorted(rows(a.tsv), key=lambda r: r["t"]):
        side = side_of_if.get(r["frame.interface_name"])
        if side is None:
            continue
        t, src, dst = r["t"], r["ip.src"], r["ip.dst"]
        from_side, to_side = src == wan[side], dst == wan[side]
        method, status = r["sip.Method"], num(r["sip.Status-Code"])
        cseq_m = r["sip.CSeq.method"]
        if method or status is not None:
            counts["sip"] += 1
        if status == 200 and cseq_m == "REGISTER" and to_side:
            registered.add(side)
        if method == "INVITE" and side == "caller" and from_side:
            invites.add((r["sip.Call-ID"], r["sip.CSeq.seq"]))
            mark("invite", t)
            if r["sdp.ice_candidate.type"]:
                offer_cands = True
        if method == "INVITE" and side == "callee" and to_side:
            mark("invite_at_callee", t)
        if status is not None and cseq_m == "INVITE":
            if side == "caller" and to_side:
                mark(f"caller_{status}", t)
            if side == "callee" and from_side:
                mark(f"callee_{status}", t)
                if status == 200 and r["sdp.ice_candidate.type"]:
                    answer_cands = True
        if method == "ACK" and side == "caller" and from_side:
            acked = True
        if status == 200 and cseq_m == "BYE":
            bye_ok = True

        stype = num(r["stun.type"])
        atts, sid = {num(x) for x in r["stun.att.type"].split(",") if x}, r["stun.id"]
        if stype in (0x0016, 0x0017):  # Send or Data indication: a check may be inside
            inner = inner_stun(r["stun.value"])
            if inner:
                stype, sid, atts = inner
        if stype in (0x0001, 0x0101):  # Binding request, Binding success response
            if stype == 0x0001 and from_side:
                # an ICE check carries USERNAME (ufrag:ufrag); a Binding request to the
                # STUN server does not. A check relayed through TURN in ChannelData is
                # decoded inside the ChannelData by tshark and counts as a check too.
                check = USERNAME in atts
                to_server = dst == a.server and not check
                stun_req[sid] = (side, USE_CANDIDATE in atts, to_server)
                if check:
                    counts["checks_sent"][side] += 1
                    if USE_CANDIDATE in atts:
                        counts["use_candidate"] += 1
            elif stype == 0x0101 and to_side and sid in stun_req:
                req_side, use_cand, to_server = stun_req[sid]
                if req_side == side:
                    if to_server:
                        counts["stun_server"][side] += 1
                    else:
                        counts["checks_ok"][side] += 1
                        mark("check_ok", t)
                        if use_cand:
                            mark("nomination", t)

        if r["rtp.ssrc"] and to_side:
            counts["rtp_received"][side] += 1
            rtp_sources[side].add(src)
            rtp_pt.add(num(r["rtp.p_type"]))
            mark(f"rtp_at_{side}", t)

    for s in ("caller", "callee"):
        if s not in registered:
            errors.append(f"the {s} did not register (no 200 to its REGISTER)")
        if counts["stun_server"][s] == 0:
            errors.append(f"the {s} got no STUN Binding success response from the server")
        if counts["checks_sent"][s] == 0:
            errors.append(f"no ICE connectivity check from the {s}")
        if counts["checks_ok"][s] == 0:
            errors.append(f"no connectivity check of the {s} succeeded")
        if counts["rtp_received"][s] < a.min_rtp:
            errors.append(f"the {s} received {counts['rtp_received'][s]} RTP packets, "
                          f"expected at least {a.min_rtp}")
    if "invite" not in first:
        errors.append("no INVITE from the caller")
    elif "invite_at_callee" not in first:
        errors.append("the INVITE did not reach the callee")
    if not offer_cands:
        errors.append("the INVITE carries no SDP offer with ICE candidates")
    if "callee_200" not in first or "caller_200" not in first:
        errors.append("no 200 OK for the INVITE from the callee to the caller")
    elif not answer_cands:
        errors.append("the 200 OK carries no SDP answer with ICE candidates")
    if not acked:
        errors.append("the caller sent no ACK")
    if not bye_ok:
        errors.append("no BYE answered 200")
    if counts["use_candidate"] == 0:
        errors.append("no connectivity check carried USE-CANDIDATE (no nomination)")

    srcs = rtp_sources["caller"] | rtp_sources["callee"]
    if not srcs:
        path = None
    elif srcs <= {a.caller_wan, a.callee_wan}:
        path = "direct"
    elif srcs == {a.server}:
        path = "relay"
    else:
        path = "mixed"
    if a.path != "any" and path != a.path:
        errors.append(f"media path {path}, expected {a.path} (RTP from {sorted(srcs)})")

    def ms(x, y):
        if x in first and y in first:
            return round((first[y] - first[x]) * 1000, 1)
        return None

    timeline = {
        "invite_to_180": ms("invite", "caller_180"),
        "invite_to_183": ms("invite", "caller_183"),
        "invite_to_200": ms("invite", "caller_200"),
        "ok_to_first_rtp_caller": ms("caller_200", "rtp_at_caller"),
        "ok_to_first_rtp_callee": ms("callee_200", "rtp_at_callee"),
        "invite_to_first_check_ok": ms("invite", "check_ok"),
        "invite_to_nomination": ms("invite", "nomination"),
    }
    counts["invites"] = len(invites)
    counts["rtp_payload_types"] = sorted(x for x in rtp_pt if x is not None)
    res = {"ok": not errors, "errors": errors, "timeline_ms": timeline, "counts": counts,
           "media_path": path}
    print(json.dumps(res))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
