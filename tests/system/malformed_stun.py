#!/usr/bin/env python3
"""Hostile STUN traffic for `floe server`: a deterministic generator and sender.

Builds (from a fixed seed) 10,000 malformed or hostile UDP datagrams of many kinds, each
kind with the server counter it must land in, sends them to a running `floe server` on
loopback at a paced rate, checks every response that comes back, then sends one valid
Binding request and requires a correct success response (XOR-MAPPED-ADDRESS decoded
here). Writes a JSON report that tests/system/server_malformed.sh compares with the
server's own counters.

Expected counters come from two places that must agree:
  * each kind's declared outcome (what RFC 8489 and the server's documented rules say);
  * `classify()`, an independent model of floe_stun_msg_decode() + floe_stun_server_handle()
    written from the rules in include/floe/stun.h and src/stun/stun_msg.c.
Every datagram of a kind with a declared outcome is checked against the model before
anything is sent (a disagreement is a generator bug and aborts). The two kinds without a
declared outcome (random garbage, mutated valid messages) take the model's answer.

Pacing: bursts of at most 100 datagrams and about 96 KiB of kernel memory, then wait until
the server's `rx` counter (read from its control socket, the same JSON that
`floe server --stats` prints) has caught up, so the kernel never has to drop anything.
Every wait is bounded.

Python 3 standard library only. Usage:
  malformed_stun.py --server 127.0.0.1:PORT --control PATH --report OUT.json
  malformed_stun.py --dry-run            (generate, self-check, print the table)
"""

import argparse
import binascii
import hashlib
import json
import random
import select
import socket
import struct
import sys
import time

SEED = 0x5EED_F10E
TOTAL = 10000

MAGIC = 0x2112A442
MAGIC_B = struct.pack(">I", MAGIC)
FP_XOR = 0x5354554E
HDR = 20
MAX_ATTRS = 48  # FLOE_STUN_MAX_ATTRS
MAX_UNKNOWN = 16  # FLOE_STUN_MAX_UNKNOWN
RX_SIZE = 4096  # UDP_RX_SIZE in apps/floe/cmd_server.c

# The server's counters, in the order of floe_stun_server_counter.
COUNTERS = [
    "rx",
    "binding_ok",
    "classic_binding_ok",
    "error_400_bad_request",
    "error_420_unknown_attribute",
    "drop_truncated",
    "drop_not_stun",
    "drop_malformed",
    "drop_bad_fingerprint",
    "drop_too_many_attributes",
    "drop_not_a_request",
    "drop_classic_disabled",
    "drop_oversize",
    "drop_response_too_big",
]
ANSWERED = ["binding_ok", "classic_binding_ok", "error_400_bad_request",
            "error_420_unknown_attribute"]

# Attribute types (include/floe/stun.h).
A_MAPPED = 0x0001
A_RESPONSE_ADDRESS = 0x0002
A_CHANGE_REQUEST = 0x0003
A_SOURCE_ADDRESS = 0x0004
A_CHANGED_ADDRESS = 0x0005
A_USERNAME = 0x0006
A_PASSWORD = 0x0007
A_MI = 0x0008
A_ERROR_CODE = 0x0009
A_UNKNOWN_ATTRIBUTES = 0x000A
A_REFLECTED_FROM = 0x000B
A_CHANNEL_NUMBER = 0x000C
A_LIFETIME = 0x000D
A_XOR_PEER = 0x0012
A_DATA = 0x0013
A_REALM = 0x0014
A_NONCE = 0x0015
A_XOR_RELAYED = 0x0016
A_REQ_FAMILY = 0x0017
A_EVEN_PORT = 0x0018
A_REQ_TRANSPORT = 0x0019
A_DONT_FRAGMENT = 0x001A
A_MI256 = 0x001C
A_PW_ALG = 0x001D
A_USERHASH = 0x001E
A_XOR_MAPPED = 0x0020
A_RESERVATION_TOKEN = 0x0022
A_PRIORITY = 0x0024
A_USE_CANDIDATE = 0x0025
A_PADDING = 0x0026
A_RESPONSE_PORT = 0x0027
A_CONNECTION_ID = 0x002A
A_ADDITIONAL_FAMILY = 0x8000
A_ADDRESS_ERROR_CODE = 0x8001
A_PW_ALGS = 0x8002
A_ALT_DOMAIN = 0x8003
A_ICMP = 0x8004
A_SOFTWARE = 0x8022
A_ALT_SERVER = 0x8023
A_CACHE_TIMEOUT = 0x8027
A_FINGERPRINT = 0x8028
A_ICE_CONTROLLED = 0x8029
A_ICE_CONTROLLING = 0x802A
A_RESPONSE_ORIGIN = 0x802B
A_OTHER_ADDRESS = 0x802C

KNOWN = {
    A_MAPPED, A_RESPONSE_ADDRESS, A_CHANGE_REQUEST, A_SOURCE_ADDRESS, A_CHANGED_ADDRESS,
    A_USERNAME, A_PASSWORD, A_MI, A_ERROR_CODE, A_UNKNOWN_ATTRIBUTES, A_REFLECTED_FROM,
    A_CHANNEL_NUMBER, A_LIFETIME, A_XOR_PEER, A_DATA, A_REALM, A_NONCE, A_XOR_RELAYED,
    A_REQ_FAMILY, A_EVEN_PORT, A_REQ_TRANSPORT, A_DONT_FRAGMENT, A_MI256, A_PW_ALG,
    A_USERHASH, A_XOR_MAPPED, A_RESERVATION_TOKEN, A_PRIORITY, A_USE_CANDIDATE, A_PADDING,
    A_RESPONSE_PORT, A_CONNECTION_ID, A_ADDITIONAL_FAMILY, A_ADDRESS_ERROR_CODE, A_PW_ALGS,
    A_ALT_DOMAIN, A_ICMP, A_SOFTWARE, A_ALT_SERVER, A_CACHE_TIMEOUT, A_FINGERPRINT,
    A_ICE_CONTROLLED, A_ICE_CONTROLLING, A_RESPONSE_ORIGIN, A_OTHER_ADDRESS,
}
ADDR_TYPES = {A_MAPPED, A_RESPONSE_ADDRESS, A_SOURCE_ADDRESS, A_CHANGED_ADDRESS,
              A_REFLECTED_FROM, A_XOR_PEER, A_XOR_RELAYED, A_XOR_MAPPED, A_ALT_SERVER,
              A_RESPONSE_ORIGIN, A_OTHER_ADDRESS}
FIXED_LEN = {}
for _t in (A_CHANGE_REQUEST, A_CHANNEL_NUMBER, A_LIFETIME, A_REQ_FAMILY, A_REQ_TRANSPORT,
           A_PRIORITY, A_RESPONSE_PORT, A_CONNECTION_ID, A_ADDITIONAL_FAMILY,
           A_CACHE_TIMEOUT, A_FINGERPRINT):
    FIXED_LEN[_t] = 4
for _t in (A_RESERVATION_TOKEN, A_ICMP, A_ICE_CONTROLLED, A_ICE_CONTROLLING):
    FIXED_LEN[_t] = 8
FIXED_LEN[A_EVEN_PORT] = 1
FIXED_LEN[A_DONT_FRAGMENT] = 0
FIXED_LEN[A_USE_CANDIDATE] = 0
FIXED_LEN[A_USERHASH] = 32
FIXED_LEN[A_MI] = 20
MAX_TEXT = {A_USERNAME: 513, A_REALM: 763, A_NONCE: 763, A_SOFTWARE: 763, A_ALT_DOMAIN: 255}
DISCOVERY = (A_CHANGE_REQUEST, A_RESPONSE_PORT, A_PADDING)  # server order

BINDING = 0x001
REQUEST, INDICATION, SUCCESS, ERROR = 0, 1, 2, 3


def u16(b, o):
    return (b[o] << 8) | b[o + 1]


def u32(b, o):
    return struct.unpack_from(">I", b, o)[0]


def stun_type(method, cls):
    m = method & 0xFFF
    return ((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((cls & 1) << 4)
            | ((cls & 2) << 7))


def type_method(t):
    return (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2)


def type_class(t):
    return ((t >> 4) & 1) | ((t >> 7) & 2)


def fingerprint(b):
    return (binascii.crc32(b) & 0xFFFFFFFF) ^ FP_XOR


# ---- the model: what floe_stun_msg_decode + floe_stun_server_handle do ------------------

def attr_value_ok(t, v):
    """floe_stun_attr_check(): True when a (known) attribute's value is acceptable."""
    n = len(v)
    if t in ADDR_TYPES:
        if n < 4:
            return False
        if v[1] == 1:
            return n == 8
        if v[1] == 2:
            return n == 20
        return False
    if t in MAX_TEXT:
        return n <= MAX_TEXT[t]
    if t == A_MI256:
        return 16 <= n <= 32 and n % 4 == 0
    if t in (A_ERROR_CODE, A_ADDRESS_ERROR_CODE):
        if t == A_ADDRESS_ERROR_CODE and n >= 4 and v[0] not in (1, 2):
            return False
        if n < 4 or n > 4 + 763:
            return False
        cls, num = v[2] & 7, v[3]
        return 3 <= cls <= 6 and num <= 99
    if t == A_UNKNOWN_ATTRIBUTES:
        return n % 2 == 0
    if t in FIXED_LEN:
        return n == FIXED_LEN[t]
    if t == A_PW_ALG:
        return n >= 4 and n == 4 + u16(v, 2)
    if t == A_PW_ALGS:
        if n == 0:
            return False
        off = 0
        while off < n:
            if n - off < 4:
                return False
            plen = u16(v, off + 2)
            off += 4
            padded = (plen + 3) & ~3
            if n - off < padded:
                return False
            off += padded
        return True
    return True  # DATA, PADDING, PASSWORD and unknown types: any length


def decode(d):
    """Returns (error, msg). error is one of None, 'truncated', 'not_stun', 'malformed',
    'fingerprint', 'limit'."""
    n = len(d)
    if n < HDR:
        return ("not_stun" if n > 0 and d[0] >= 0x40 else "truncated"), None
    if d[0] & 0xC0:
        return "not_stun", None
    body = u16(d, 2)
    cookie = u32(d, 4) == MAGIC
    if body % 4:
        return "malformed", None
    if body + HDR > n:
        return "truncated", None
    t = u16(d, 0)
    msg = {"type": t, "method": type_method(t), "cls": type_class(t), "classic": not cookie,
           "raw_len": HDR + body, "attrs": [], "unknown": []}
    off, end = HDR, HDR + body
    mi = mi256 = fp = None
    while True:
        left = end - off
        if left == 0:
            break
        if left < 4:
            return "malformed", None
        at, alen = u16(d, off), u16(d, off + 2)
        padded = (alen + 3) & ~3
        if left - 4 < padded:
            return "malformed", None
        start = off
        val = bytes(d[off + 4:off + 4 + alen])
        off += 4 + padded
        if fp is not None:
            return "malformed", None  # FINGERPRINT is last
        if mi256 is not None:
            counts = at == A_FINGERPRINT
        elif mi is not None:
            counts = at in (A_FINGERPRINT, A_MI256)
        else:
            counts = True
        if not counts:
            continue
        if at in KNOWN and not attr_value_ok(at, val):
            return "malformed", None
        if len(msg["attrs"]) == MAX_ATTRS:
            return "limit", None
        msg["attrs"].append((at, val))
        if at == A_MI:
            mi = mi if mi is not None else start
        elif at == A_MI256:
            mi256 = mi256 if mi256 is not None else start
        elif at == A_FINGERPRINT:
            fp = start
            fp_val = u32(val, 0)
        elif at < 0x8000 and at not in KNOWN and len(msg["unknown"]) < MAX_UNKNOWN:
            if at not in msg["unknown"]:
                msg["unknown"].append(at)
    if fp is not None and fp_val != fingerprint(bytes(d[:fp])):
        return "fingerprint", None
    return None, msg


DECODE_DROP = {"truncated": "drop_truncated", "not_stun": "drop_not_stun",
               "malformed": "drop_malformed", "fingerprint": "drop_bad_fingerprint",
               "limit": "drop_too_many_attributes"}


def classify(d):
    """(counter, details) for one UDP datagram given to `floe server` (defaults:
    RFC 5780 off, classic on). details: None for drops, else a dict describing the answer."""
    if len(d) > RX_SIZE:
        return "drop_oversize", None
    err, m = decode(d)
    if err:
        return DECODE_DROP[err], None
    if m["raw_len"] != len(d):
        return "drop_malformed", None  # UDP: trailing bytes
    if m["cls"] != REQUEST:
        return "drop_not_a_request", None
    types = [a[0] for a in m["attrs"]]
    unknown = list(m["unknown"]) + [t for t in DISCOVERY if t in types]
    info = {"method": m["method"], "classic": m["classic"], "key": bytes(d[4:20])}
    if unknown:
        info["unknown"] = unknown
        return "error_420_unknown_attribute", info
    if m["method"] != BINDING:
        return "error_400_bad_request", info
    return ("classic_binding_ok" if m["classic"] else "binding_ok"), info


# ---- building messages -----------------------------------------------------------------

def tlv(t, val, declared=None, pad=b"\0"):
    length = len(val) if declared is None else declared
    return struct.pack(">HH", t, length) + val + pad * ((-len(val)) % 4)


def message(mtype, attrs=b"", head16=None, fp=False, length=None):
    """A STUN message: head16 is the 16 bytes after type+length (magic cookie + 12-byte
    transaction ID, or a 16-byte RFC 3489 transaction ID)."""
    body = attrs
    if fp:
        hdr = struct.pack(">HH", mtype, len(body) + 8) + head16
        crc = fingerprint(hdr + body)
        return hdr + body + tlv(A_FINGERPRINT, struct.pack(">I", crc))
    L = len(body) if length is None else length
    return struct.pack(">HH", mtype, L) + head16 + body


class Gen:
    """All randomness of the generator: one random.Random with a fixed seed."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.serial = 0

    def bytes(self, n):
        return self.r.randbytes(n)

    def ascii(self, lo, hi):
        n = self.r.randint(lo, hi)
        return bytes(self.r.choice(b"abcdefghijklmnopqrstuvwxyz0123456789-._") for _ in range(n))

    def next_serial(self):
        self.serial += 1
        return self.serial

    def head(self, classic=False):
        """Cookie + transaction ID, unique per datagram (serial in bytes 4..7 of the TID)."""
        s = struct.pack(">I", self.next_serial())
        if classic:
            while True:
                first = self.bytes(4)
                if first != MAGIC_B:
                    break
            return first + s + self.bytes(8)
        return MAGIC_B + s + self.bytes(8)

    def any_method(self, binding_ok=True):
        while True:
            m = self.r.choice([self.r.randint(0, 0xFFF), self.r.randint(2, 0x00C)])
            if binding_ok or m != BINDING:
                return m

    def unknown_required(self):
        while True:
            t = self.r.choice([self.r.randint(0, 0x7FFF), self.r.randint(0x002B, 0x00FF),
                               0x0000, 0x0021, 0x0023, 0x001B, 0x001F, 0x7FFF])
            if t not in KNOWN:
                return t

    def unknown_optional(self):
        while True:
            t = self.r.randint(0x8000, 0xFFFF)
            if t not in KNOWN:
                return t

    def addr_val(self, family=None):
        fam = family or self.r.choice([1, 1, 2])
        port = self.r.randint(0, 0xFFFF)
        ip = self.bytes(4 if fam == 1 else 16)
        return bytes([0, fam]) + struct.pack(">H", port) + ip

    def benign(self, t=None):
        """One attribute a Binding request may carry without changing the answer (neither
        an unknown comprehension-required type, nor a RFC 5780 one, nor an integrity or
        FINGERPRINT attribute)."""
        r = self.r
        kinds = [A_SOFTWARE, A_USERNAME, A_PRIORITY, A_ICE_CONTROLLING, A_ICE_CONTROLLED,
                 A_USE_CANDIDATE, "opt", A_XOR_MAPPED, A_MAPPED, A_REALM, A_NONCE, A_LIFETIME,
                 A_DATA, A_ERROR_CODE, A_UNKNOWN_ATTRIBUTES, A_EVEN_PORT, A_USERHASH,
                 A_RESERVATION_TOKEN, A_PW_ALG, A_PW_ALGS, A_ALT_DOMAIN, A_ADDRESS_ERROR_CODE,
                 A_CACHE_TIMEOUT, A_XOR_PEER, A_RESPONSE_ADDRESS, A_PASSWORD, A_CONNECTION_ID,
                 A_DONT_FRAGMENT, A_REQ_TRANSPORT, A_CHANNEL_NUMBER, A_OTHER_ADDRESS]
        t = t if t is not None else r.choice(kinds)
        if t == "opt":
            return tlv(self.unknown_optional(), self.bytes(r.randint(0, 24)))
        if t in ADDR_TYPES:
            return tlv(t, self.addr_val())
        if t in (A_SOFTWARE, A_USERNAME, A_REALM, A_NONCE, A_ALT_DOMAIN):
            return tlv(t, self.ascii(0, 40))
        if t in FIXED_LEN:
            return tlv(t, self.bytes(FIXED_LEN[t]))
        if t == A_DATA or t == A_PASSWORD:
            return tlv(t, self.bytes(r.randint(0, 48)))
        if t in (A_ERROR_CODE, A_ADDRESS_ERROR_CODE):
            first = r.choice([1, 2]) if t == A_ADDRESS_ERROR_CODE else 0
            return tlv(t, bytes([first, 0, r.randint(3, 6), r.randint(0, 99)]) + self.ascii(0, 16))
        if t == A_UNKNOWN_ATTRIBUTES:
            return tlv(t, self.bytes(2 * r.randint(0, 6)))
        if t == A_PW_ALG:
            k = r.randint(0, 8)
            return tlv(t, struct.pack(">HH", r.choice([1, 2]), k) + self.bytes(k))
        if t == A_PW_ALGS:
            v = b""
            for _ in range(r.randint(1, 3)):
                k = r.randint(0, 6)
                v += struct.pack(">HH", r.choice([1, 2]), k) + self.bytes(k) + b"\0" * ((-k) % 4)
            return tlv(t, v)
        raise AssertionError(t)

    def benigns(self, lo, hi):
        return b"".join(self.benign() for _ in range(self.r.randint(lo, hi)))

    def bad_known(self):
        """A known attribute whose value floe_stun_attr_check() must refuse."""
        r = self.r
        c = r.randrange(16)
        if c == 0:  # address: too short, wrong length for its family, or unknown family
            t = r.choice(sorted(ADDR_TYPES))
            v = r.choice([self.bytes(r.randint(0, 3)),
                          bytes([0, 1]) + self.bytes(r.choice([2, 4, 5, 7, 9, 12, 20])),
                          bytes([0, 2]) + self.bytes(r.choice([2, 6, 8, 14, 17, 20])),
                          bytes([0, r.choice([0, 3, 4, 0xFF])]) + self.bytes(6)])
            return tlv(t, v)
        if c == 1:  # text longer than its limit
            t = r.choice(sorted(MAX_TEXT))
            return tlv(t, self.ascii(MAX_TEXT[t] + 1, MAX_TEXT[t] + 40))
        if c == 2:
            return tlv(A_MI, self.bytes(r.choice([0, 4, 16, 19, 21, 24, 32])))
        if c == 3:
            return tlv(A_MI256, self.bytes(r.choice([0, 4, 12, 15, 17, 18, 33, 36, 64])))
        if c == 4:  # ERROR-CODE: too short, class out of 3..6, number > 99
            v = r.choice([self.bytes(r.randint(0, 3)),
                          bytes([0, 0, r.choice([0, 1, 2, 7]), 0]),
                          bytes([0, 0, 4, r.randint(100, 255)]) + self.ascii(0, 8)])
            return tlv(A_ERROR_CODE, v)
        if c == 5:
            return tlv(A_ADDRESS_ERROR_CODE, bytes([r.choice([0, 3, 0xFF]), 0, 4, 0]))
        if c == 6:
            return tlv(A_UNKNOWN_ATTRIBUTES, self.bytes(2 * r.randint(0, 5) + 1))
        if c == 7:  # a 4-byte attribute of another length (CHANGE-REQUEST included)
            t = r.choice([x for x in FIXED_LEN if FIXED_LEN[x] == 4])
            return tlv(t, self.bytes(r.choice([0, 1, 2, 3, 5, 8, 12])))
        if c == 8:
            t = r.choice([A_RESERVATION_TOKEN, A_ICMP, A_ICE_CONTROLLED, A_ICE_CONTROLLING])
            return tlv(t, self.bytes(r.choice([0, 4, 7, 9, 12, 16])))
        if c == 9:
            return tlv(A_EVEN_PORT, self.bytes(r.choice([0, 2, 4])))
        if c == 10:
            return tlv(r.choice([A_DONT_FRAGMENT, A_USE_CANDIDATE]), self.bytes(r.randint(1, 8)))
        if c == 11:
            return tlv(A_USERHASH, self.bytes(r.choice([0, 16, 31, 33, 64])))
        if c == 12:  # PASSWORD-ALGORITHM whose params length lies
            k = r.randint(0, 8)
            v = r.choice([self.bytes(r.randint(0, 3)),
                          struct.pack(">HH", 1, k + r.randint(1, 9)) + self.bytes(k)])
            return tlv(A_PW_ALG, v)
        if c == 13:  # PASSWORD-ALGORITHMS: empty, or an entry running past the value
            v = r.choice([b"", struct.pack(">HH", 2, 12) + self.bytes(4), self.bytes(2)])
            return tlv(A_PW_ALGS, v)
        if c == 14:
            return tlv(A_FINGERPRINT, self.bytes(r.choice([0, 8, 12])))
        # an address attribute's family byte names IPv4 but carries IPv6 length
        return tlv(r.choice([A_XOR_MAPPED, A_XOR_PEER, A_MAPPED]), bytes([0, 1]) + self.bytes(18))

    def after_mi_junk(self):
        """Any TLV-framed attribute (ignored after MESSAGE-INTEGRITY): unknown
        comprehension-required types, RFC 5780 ones, bad lengths, another MI."""
        r = self.r
        c = r.randrange(5)
        if c == 0:
            return self.bad_known()
        if c == 1:
            return tlv(self.unknown_required(), self.bytes(r.randint(0, 12)))
        if c == 2:
            return tlv(r.choice(DISCOVERY), self.bytes(4))
        if c == 3:
            return tlv(A_MI, self.bytes(20))
        return self.benign()


def bad_known_ok_after_mi(attr):
    # MI-SHA256 and FINGERPRINT still count after MESSAGE-INTEGRITY.
    return u16(attr, 0) not in (A_MI256, A_FINGERPRINT)


# ---- the kinds -------------------------------------------------------------------------
# Each returns one datagram. Kinds are listed with their count and declared counter
# (None: the model decides).

def k_truncated_header_short(g):
    r = g.r
    n = 0 if r.randrange(25) == 0 else r.randint(1, HDR - 1)
    if n and r.randrange(2):  # a prefix of a real request
        return message(stun_type(BINDING, REQUEST), g.benigns(0, 2), g.head(), fp=True)[:n]
    return bytes([r.randint(0, 0x3F)]) + g.bytes(n - 1) if n else b""


def k_truncated_header_not_stun(g):
    r = g.r
    return bytes([r.randint(0x40, 255)]) + g.bytes(r.randint(0, HDR - 2))


def k_length_past_end(g):
    r = g.r
    classic = r.randrange(4) == 0
    cls = r.choice([REQUEST, REQUEST, INDICATION, SUCCESS, ERROR])
    body = g.benigns(0, 4) if r.randrange(2) else g.bytes(4 * r.randint(0, 30))
    extra = 4 * r.choice([1, 1, 2, r.randint(1, 16000)])
    declared = min(len(body) + extra, 0xFFFC)
    d = message(stun_type(g.any_method(), cls), body, g.head(classic), length=declared)
    if r.randrange(3) == 0 and len(d) > HDR:  # and also cut short mid-attribute
        d = d[:r.randint(HDR, len(d))]
    return d


def k_length_not_multiple_of_4(g):
    r = g.r
    classic = r.randrange(4) == 0
    body = g.benigns(0, 4)
    declared = len(body) + r.choice([1, 2, 3, -1, -2, -3])
    if declared < 0:
        declared += 4
    if r.randrange(4) == 0:
        declared = r.randrange(0x10000) | 1
    return message(stun_type(g.any_method(), r.randrange(4)), body, g.head(classic),
                   length=declared)


def k_top_bits_set(g):
    r = g.r
    if r.randrange(2):
        d = bytearray(message(stun_type(BINDING, REQUEST), g.benigns(0, 5), g.head(),
                              fp=r.randrange(2) == 0))
    else:
        d = bytearray(g.bytes(r.randint(HDR, 600)))
        if r.randrange(2):
            d[4:8] = MAGIC_B
    d[0] |= r.choice([0x40, 0x80, 0xC0])
    return bytes(d)


def k_classic_binding_request(g):
    r = g.r
    attrs = b""
    for _ in range(r.randint(0, 3)):
        attrs += g.benign(r.choice([A_RESPONSE_ADDRESS, A_USERNAME, A_PASSWORD, A_SOFTWARE,
                                    "opt", A_MAPPED, A_XOR_MAPPED]))
    return message(stun_type(BINDING, REQUEST), attrs, g.head(classic=True),
                   fp=r.randrange(5) == 0)


def k_classic_not_request(g):
    r = g.r
    return message(stun_type(g.any_method(), r.choice([INDICATION, SUCCESS, ERROR])),
                   g.benigns(0, 3), g.head(classic=True), fp=r.randrange(4) == 0)


def k_classic_unknown_method(g):
    r = g.r
    return message(stun_type(g.any_method(binding_ok=False), REQUEST), g.benigns(0, 3),
                   g.head(classic=True), fp=r.randrange(4) == 0)


def k_attr_past_end(g):
    r = g.r
    classic = r.randrange(5) == 0
    prefix = g.benigns(0, 4)
    room = 4 * r.randint(0, 6)  # value bytes actually present after the last TLV header
    c = r.randrange(3)
    if c == 0:
        declared = room + r.randint(1, 3)  # the padding is missing
    elif c == 1:
        declared = r.randint(room + 4, 0xFFFF)  # far past the end
    else:
        declared = room + 4 * r.randint(1, 8)
    t = r.choice([A_SOFTWARE, A_DATA, A_USERNAME, A_XOR_MAPPED, A_FINGERPRINT,
                  g.unknown_optional(), g.unknown_required()])
    last = struct.pack(">HH", t, declared) + g.bytes(room)
    cls = r.choice([REQUEST, REQUEST, REQUEST, INDICATION, SUCCESS])
    return message(stun_type(BINDING, cls), prefix + last, g.head(classic))


def k_known_attr_bad_length(g):
    r = g.r
    classic = r.randrange(6) == 0
    attrs = [g.benign() for _ in range(r.randint(0, 5))]
    attrs.insert(r.randint(0, len(attrs)), g.bad_known())
    if r.randrange(3) == 0:  # junk after it that would be another error: the first wins
        attrs.append(tlv(g.unknown_required(), b""))
    cls = r.choice([REQUEST, REQUEST, REQUEST, INDICATION, SUCCESS, ERROR])
    return message(stun_type(g.any_method(), cls), b"".join(attrs), g.head(classic),
                   fp=r.randrange(2) == 0)


def k_bad_fingerprint(g):
    r = g.r
    classic = r.randrange(6) == 0
    cls = r.choice([REQUEST, REQUEST, REQUEST, INDICATION, SUCCESS, ERROR])
    attrs = g.benigns(0, 6)
    if r.randrange(4) == 0:  # FINGERPRINT after MESSAGE-INTEGRITY still counts
        attrs += tlv(A_MI, g.bytes(20))
    if r.randrange(4) == 0:  # and an unknown required attribute must not win over it
        attrs += tlv(g.unknown_required(), g.bytes(4))
    d = bytearray(message(stun_type(g.any_method(), cls), attrs, g.head(classic), fp=True))
    flip = r.choice([1 << r.randrange(32), r.randint(1, 0xFFFFFFFF)])
    struct.pack_into(">I", d, len(d) - 4, u32(d, len(d) - 4) ^ flip)
    return bytes(d)


def k_fingerprint_not_last(g):
    r = g.r
    classic = r.randrange(6) == 0
    d = message(stun_type(BINDING, REQUEST), g.benigns(0, 4), g.head(classic), fp=True)
    tail = b""
    for _ in range(r.randint(1, 3)):
        tail += r.choice([g.benign(), tlv(A_FINGERPRINT, g.bytes(4)), tlv(A_MI, g.bytes(20))])
    d = bytearray(d + tail)
    struct.pack_into(">H", d, 2, len(d) - HDR)
    return bytes(d)


def k_duplicate_attributes(g):
    r = g.r
    attrs = []
    for _ in range(r.randint(1, 4)):
        t = r.choice([A_SOFTWARE, A_USERNAME, A_PRIORITY, A_ICE_CONTROLLING, A_XOR_MAPPED,
                      A_MAPPED, A_USE_CANDIDATE, A_REALM, A_NONCE, A_LIFETIME, A_DATA,
                      A_ERROR_CODE, A_XOR_PEER, "opt"])
        if t == "opt":
            t = g.unknown_optional()
            attrs += [tlv(t, g.bytes(r.randint(0, 16))) for _ in range(r.randint(2, 6))]
        else:
            attrs += [g.benign(t) for _ in range(r.randint(2, 6))]
    r.shuffle(attrs)
    return message(stun_type(BINDING, REQUEST), b"".join(attrs[:47]), g.head(),
                   fp=r.randrange(2) == 0)


def k_unknown_required_attr(g):
    r = g.r
    classic = r.randrange(6) == 0
    attrs = [g.benign() for _ in range(r.randint(0, 4))]
    for _ in range(r.choice([1, 1, 2, 3, r.randint(4, 30)])):
        attrs.append(tlv(g.unknown_required(), g.bytes(r.randint(0, 12))))
    if r.randrange(4) == 0:  # some duplicates of the same unknown type
        attrs.append(attrs[-1])
    if r.randrange(6) == 0:  # together with the RFC 5780 ones: up to 16 + 3 in the answer
        attrs += [tlv(A_CHANGE_REQUEST, bytes(4)), tlv(A_RESPONSE_PORT, bytes(4)),
                  tlv(A_PADDING, g.bytes(8))]
    r.shuffle(attrs)
    method = BINDING if r.randrange(4) else g.any_method(binding_ok=False)  # 420 beats 400
    return message(stun_type(method, REQUEST), b"".join(attrs[:47]), g.head(classic),
                   fp=r.randrange(2) == 0)


def k_rfc5780_attr_while_off(g):
    r = g.r
    classic = r.randrange(4) == 0
    attrs = [g.benign() for _ in range(r.randint(0, 3))]
    chosen = [t for t in DISCOVERY if r.randrange(2)] or [A_CHANGE_REQUEST]
    for t in chosen:
        if t == A_CHANGE_REQUEST:
            attrs.append(tlv(t, struct.pack(">I", r.choice([0, 2, 4, 6]))))
        elif t == A_RESPONSE_PORT:
            attrs.append(tlv(t, struct.pack(">HH", r.randint(0, 0xFFFF), 0)))
        else:
            attrs.append(tlv(t, g.bytes(r.randint(0, 64))))
    r.shuffle(attrs)
    return message(stun_type(BINDING, REQUEST), b"".join(attrs), g.head(classic),
                   fp=r.randrange(3) == 0)


def small_attr(g):
    r = g.r
    c = r.randrange(4)
    if c == 0:
        return tlv(g.unknown_optional(), b"")
    if c == 1:
        return tlv(A_USE_CANDIDATE, b"")
    if c == 2:
        return tlv(A_PRIORITY, g.bytes(4))
    return tlv(A_SOFTWARE, g.ascii(0, 4))


def k_too_many_attributes(g):
    r = g.r
    n = r.choice([MAX_ATTRS + 1, MAX_ATTRS + 1, MAX_ATTRS + 2, r.randint(50, 300)])
    attrs = b"".join(small_attr(g) for _ in range(n))
    c = r.randrange(4)
    if c == 1:
        attrs += g.bad_known()  # past the cap: never looked at
    elif c == 2:
        attrs += tlv(A_FINGERPRINT, g.bytes(4))  # wrong, but never checked
    elif c == 3:
        attrs += struct.pack(">HH", A_DATA, 200)  # runs past the end, never reached
    cls = r.choice([REQUEST, REQUEST, SUCCESS])
    return message(stun_type(BINDING, cls), attrs, g.head(r.randrange(5) == 0))


def k_max_attributes_ok(g):
    r = g.r
    fp = r.randrange(2) == 0
    attrs = b"".join(small_attr(g) for _ in range(MAX_ATTRS - (1 if fp else 0)))
    return message(stun_type(BINDING, REQUEST), attrs, g.head(), fp=fp)


def k_ignored_after_integrity(g):
    r = g.r
    attrs = g.benigns(0, 5)
    if r.randrange(3) == 0:
        attrs += tlv(A_MI256, g.bytes(32))
    else:
        attrs += tlv(A_MI, g.bytes(20))
    for _ in range(r.choice([1, 2, 5, r.randint(1, 120)])):
        a = g.after_mi_junk()
        if bad_known_ok_after_mi(a) and len(attrs) + len(a) < 3000:
            attrs += a
    return message(stun_type(BINDING, REQUEST), attrs, g.head(), fp=r.randrange(2) == 0)


def k_response_or_indication(g):
    r = g.r
    attrs = g.benigns(0, 5)
    if r.randrange(4) == 0:
        attrs += tlv(g.unknown_required(), b"")  # not looked at for non-requests
    if r.randrange(6) == 0:
        attrs += tlv(A_CHANGE_REQUEST, bytes(4))
    cls = r.choice([INDICATION, SUCCESS, ERROR])
    return message(stun_type(g.any_method(), cls), attrs, g.head(), fp=r.randrange(2) == 0)


def k_unknown_method_request(g):
    r = g.r
    return message(stun_type(g.any_method(binding_ok=False), REQUEST), g.benigns(0, 5),
                   g.head(), fp=r.randrange(2) == 0)


def k_oversize(g):
    r = g.r
    n = r.choice([RX_SIZE + 1, RX_SIZE + 4, r.randint(RX_SIZE + 1, 9000),
                  r.randint(5000, 9000)])
    if r.randrange(2):  # a well-formed Binding request, just too big for the server buffer
        vlen = n - HDR - 4 - 8
        return message(stun_type(BINDING, REQUEST), tlv(A_DATA, g.bytes(vlen)), g.head(),
                       fp=True)[:n]
    return g.bytes(n)


def k_exactly_4096_bytes(g):
    r = g.r
    fp = r.randrange(2) == 0
    vlen = RX_SIZE - HDR - 4 - (8 if fp else 0)
    t = r.choice([A_DATA, A_PASSWORD, g.unknown_optional()])
    d = message(stun_type(BINDING, REQUEST), tlv(t, g.bytes(vlen)), g.head(), fp=fp)
    assert len(d) == RX_SIZE
    return d


def k_trailing_bytes(g):
    r = g.r
    cls = r.choice([REQUEST, REQUEST, REQUEST, SUCCESS])
    d = message(stun_type(BINDING, cls), g.benigns(0, 4), g.head(r.randrange(5) == 0),
                fp=r.randrange(2) == 0)
    c = r.randrange(3)
    if c == 0:
        extra = bytes(r.randint(1, 64))
    elif c == 1:
        extra = g.bytes(r.randint(1, 64))
    else:  # a second message glued on
        extra = message(stun_type(BINDING, REQUEST), b"", g.head())
    return d + extra


def k_random_garbage(g):
    r = g.r
    n = r.choice([r.randint(1, 64), r.randint(20, 200), r.randint(1, 1400)])
    d = bytearray(g.bytes(n))
    if n >= 8 and r.randrange(3) == 0:
        d[0] &= 0x3F  # give the interesting branches a chance
        if r.randrange(2):
            d[4:8] = MAGIC_B
        if r.randrange(2):
            struct.pack_into(">H", d, 2, (n - HDR) & 0xFFFC if n >= HDR else 0)
    return bytes(d)


def k_mutated_valid(g):
    r = g.r
    c = r.randrange(4)
    if c == 0:
        d = message(stun_type(BINDING, REQUEST), g.benigns(0, 6), g.head(), fp=True)
    elif c == 1:
        d = message(stun_type(BINDING, REQUEST), g.benigns(1, 6), g.head(), fp=False)
    elif c == 2:
        d = message(stun_type(BINDING, REQUEST), g.benigns(0, 3), g.head(classic=True))
    else:
        d = message(stun_type(g.any_method(), r.randrange(4)), g.benigns(0, 6), g.head(),
                    fp=r.randrange(2) == 0)
    d = bytearray(d)
    for _ in range(r.choice([1, 1, 2, 3, 8])):
        op = r.randrange(5)
        if op <= 1 and d:  # flip a bit
            i = r.randrange(len(d))
            d[i] ^= 1 << r.randrange(8)
        elif op == 2 and d:  # overwrite a byte
            d[r.randrange(len(d))] = r.randrange(256)
        elif op == 3 and len(d) > 1:  # cut
            del d[r.randrange(1, len(d)):]
        else:  # overwrite a length field (header or an attribute)
            if len(d) >= 4:
                if r.randrange(2) or len(d) < 26:
                    off = 2
                else:
                    off = HDR + 4 * r.randrange((len(d) - HDR) // 4) + 2
                if off + 2 <= len(d):
                    struct.pack_into(">H", d, off, r.choice([0, 4, r.randrange(0x10000),
                                                             len(d) - HDR]) & 0xFFFF)
    return bytes(d)


KINDS = [
    # name, count, generator, declared counter (None: the model decides)
    ("truncated_header_short", 300, k_truncated_header_short, "drop_truncated"),
    ("truncated_header_not_stun", 300, k_truncated_header_not_stun, "drop_not_stun"),
    ("length_past_end", 500, k_length_past_end, "drop_truncated"),
    ("length_not_multiple_of_4", 500, k_length_not_multiple_of_4, "drop_malformed"),
    ("top_bits_set", 500, k_top_bits_set, "drop_not_stun"),
    ("classic_binding_request", 300, k_classic_binding_request, "classic_binding_ok"),
    ("classic_not_request", 300, k_classic_not_request, "drop_not_a_request"),
    ("classic_unknown_method", 200, k_classic_unknown_method, "error_400_bad_request"),
    ("attr_past_end", 500, k_attr_past_end, "drop_malformed"),
    ("known_attr_bad_length", 700, k_known_attr_bad_length, "drop_malformed"),
    ("bad_fingerprint", 600, k_bad_fingerprint, "drop_bad_fingerprint"),
    ("fingerprint_not_last", 400, k_fingerprint_not_last, "drop_malformed"),
    ("duplicate_attributes", 500, k_duplicate_attributes, "binding_ok"),
    ("unknown_required_attr", 500, k_unknown_required_attr, "error_420_unknown_attribute"),
    ("rfc5780_attr_while_off", 300, k_rfc5780_attr_while_off, "error_420_unknown_attribute"),
    ("too_many_attributes", 400, k_too_many_attributes, "drop_too_many_attributes"),
    ("exactly_48_attributes", 100, k_max_attributes_ok, "binding_ok"),
    ("ignored_after_integrity", 200, k_ignored_after_integrity, "binding_ok"),
    ("response_or_indication", 500, k_response_or_indication, "drop_not_a_request"),
    ("unknown_method_request", 500, k_unknown_method_request, "error_400_bad_request"),
    ("oversize", 300, k_oversize, "drop_oversize"),
    ("exactly_4096_bytes", 50, k_exactly_4096_bytes, "binding_ok"),
    ("trailing_bytes", 500, k_trailing_bytes, "drop_malformed"),
    ("random_garbage", 500, k_random_garbage, None),
    ("mutated_valid", 550, k_mutated_valid, None),
]


def generate(seed=SEED):
    """The datagrams, in sending order: list of (kind, bytes, counter, info)."""
    assert sum(k[1] for k in KINDS) == TOTAL, sum(k[1] for k in KINDS)
    g = Gen(seed)
    out = []
    for name, count, fn, declared in KINDS:
        for _ in range(count):
            d = fn(g)
            counter, info = classify(d)
            if declared is not None and counter != declared:
                raise SystemExit("generator bug: kind %s built a datagram the model files under "
                                 "%s, not %s: %s" % (name, counter, declared, d.hex()))
            out.append((name, d, counter, info))
    g.r.shuffle(out)  # interleave the kinds
    return out


def digest(items):
    h = hashlib.sha256()
    for _, d, _, _ in items:
        h.update(struct.pack(">I", len(d)) + d)
    return h.hexdigest()


def kind_table(items):
    table = {k[0]: {} for k in KINDS}  # in the order of KINDS
    for name, _, counter, _ in items:
        row = table[name]
        row[counter] = row.get(counter, 0) + 1
    return table


# ---- talking to the server -------------------------------------------------------------

def read_stats(path, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        buf = b""
        while True:
            chunk = s.recv(8192)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return json.loads(buf)


def parse_attrs(d, start, end):
    out, off = [], start
    while end - off >= 4:
        t, n = u16(d, off), u16(d, off + 2)
        if off + 4 + n > end:
            raise ValueError("attribute runs past the end")
        out.append((t, bytes(d[off + 4:off + 4 + n]), off))
        off += 4 + ((n + 3) & ~3)
    if off != end:
        raise ValueError("attribute framing")
    return out


def decode_addr(val, xor, key):
    fam, port = val[1], u16(val, 2)
    ip = bytearray(val[4:])
    if xor:
        port ^= MAGIC >> 16
        pad = key  # magic cookie + transaction ID
        for i in range(len(ip)):
            ip[i] ^= pad[i]
    if fam != 1 or len(ip) != 4:
        raise ValueError("not an IPv4 address")
    return socket.inet_ntoa(bytes(ip)), port


def check_response(d, local):
    """Decodes one response from the server. Returns (counter, key, method, unknown list)
    or raises ValueError with the reason it is wrong."""
    if len(d) < HDR or d[0] & 0xC0 or u16(d, 2) + HDR != len(d) or u16(d, 2) % 4:
        raise ValueError("bad header")
    t = u16(d, 0)
    cls, method = type_class(t), type_method(t)
    key = bytes(d[4:20])
    classic = key[:4] != MAGIC_B
    attrs = parse_attrs(d, HDR, len(d))
    types = [a[0] for a in attrs]
    if not classic:
        if not types or types[-1] != A_FINGERPRINT:
            raise ValueError("no FINGERPRINT last")
        fp = attrs[-1]
        if u32(fp[1], 0) != fingerprint(bytes(d[:fp[2]])):
            raise ValueError("wrong FINGERPRINT in the response")
    elif A_FINGERPRINT in types:
        raise ValueError("FINGERPRINT in a classic response")
    av = {}
    for a in attrs:
        av.setdefault(a[0], a[1])
    unknown = None
    if cls == SUCCESS:
        if method != BINDING:
            raise ValueError("success for method 0x%03x" % method)
        if classic:
            if A_MAPPED not in av:
                raise ValueError("classic success without MAPPED-ADDRESS")
            got = decode_addr(av[A_MAPPED], False, key)
        else:
            if A_XOR_MAPPED not in av:
                raise ValueError("success without XOR-MAPPED-ADDRESS")
            got = decode_addr(av[A_XOR_MAPPED], True, key)
        if got != local:
            raise ValueError("mapped address %s:%d, expected %s:%d" % (got + local))
        counter = "classic_binding_ok" if classic else "binding_ok"
    elif cls == ERROR:
        if A_ERROR_CODE not in av or len(av[A_ERROR_CODE]) < 4:
            raise ValueError("error response without ERROR-CODE")
        ec = av[A_ERROR_CODE]
        code = (ec[2] & 7) * 100 + ec[3]
        if code == 420:
            counter = "error_420_unknown_attribute"
            ua = av.get(A_UNKNOWN_ATTRIBUTES)
            if ua is None:
                raise ValueError("420 without UNKNOWN-ATTRIBUTES")
            unknown = [u16(ua, i) for i in range(0, len(ua) - 1, 2)]
        elif code == 400:
            counter = "error_400_bad_request"
        else:
            raise ValueError("unexpected error code %d" % code)
    else:
        raise ValueError("class %d is not a response" % cls)
    return counter, key, method, unknown


class Receiver:
    def __init__(self, sock, server, local):
        self.sock, self.server, self.local = sock, server, local
        self.pending = {}  # key -> list of expected (counter, method, unknown, kind)
        self.got = {c: 0 for c in ANSWERED}
        self.by_kind = {}
        self.total = 0
        self.failures = []
        self.stray = 0
        self.final = None

    def expect(self, kind, counter, info):
        self.pending.setdefault(info["key"], []).append(
            (counter, info["method"], info.get("unknown"), kind))

    def fail(self, why):
        if len(self.failures) < 50:
            self.failures.append(why)

    def handle(self, d, addr):
        if addr != self.server:
            self.stray += 1
            return
        self.total += 1
        try:
            counter, key, method, unknown = check_response(d, self.local)
        except ValueError as e:
            self.fail("bad response (%s): %s" % (e, d.hex()))
            return
        waiting = self.pending.get(key, [])
        for i, (c, m, unk, kind) in enumerate(waiting):
            if c == counter and m == method:
                if unk is not None and unk != unknown:
                    self.fail("%s: UNKNOWN-ATTRIBUTES %s, expected %s" % (
                        kind, [hex(x) for x in unknown], [hex(x) for x in unk]))
                del waiting[i]
                self.got[counter] += 1
                self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
                if kind == "final_valid_binding":
                    self.final = d
                return
        self.fail("response nobody expected (%s, method 0x%03x): %s" % (counter, method, d.hex()))

    def drain(self):
        while True:
            try:
                d, addr = self.sock.recvfrom(65536)
            except BlockingIOError:
                return
            self.handle(d, addr)

    def missing(self):
        return [(k.hex(), v) for k, vs in self.pending.items() for v in vs]


def udp_rcvbuf_errors():
    """System-wide UDP RcvbufErrors (diagnostics only)."""
    try:
        with open("/proc/net/snmp") as f:
            lines = [l.split() for l in f if l.startswith("Udp:")]
        return int(lines[1][lines[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return -1


def kernel_cost(d):
    return 2 * len(d) + 1536  # generous guess at the receive-queue truesize of a datagram


def run(args, items):
    host, port = args.server.rsplit(":", 1)
    server = (host, int(port))
    if host != "127.0.0.1":
        raise SystemExit("loopback only: --server must be 127.0.0.1:PORT")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    local = sock.getsockname()
    rx = Receiver(sock, server, local)
    base = read_stats(args.control)["counters"]["rx"]
    rcvbuf0 = udp_rcvbuf_errors()
    t0 = time.monotonic()
    deadline = t0 + args.max_seconds
    bursts = polls = 0

    def wait_rx(target):
        nonlocal polls
        pause = 0.0005
        while True:
            rx.drain()
            try:
                seen = read_stats(args.control)["counters"]["rx"] - base
            except (OSError, ValueError) as e:
                raise SystemExit("the server stopped answering on its control socket after %d "
                                 "datagrams (crashed?): %s" % (target, e))
            polls += 1
            if seen == target:
                return
            if seen > target:
                raise SystemExit("server rx %d is more than the %d datagrams sent: another "
                                 "sender?" % (seen, target))
            if time.monotonic() > deadline:
                raise SystemExit("server rx stuck at %d of %d sent after %.0f s (kernel "
                                 "drops? UDP RcvbufErrors went %d -> %d)" % (
                                     seen, target, args.max_seconds, rcvbuf0,
                                     udp_rcvbuf_errors()))
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    i, n = 0, len(items)
    while i < n:
        start, cost = i, 0
        while i < n and i - start < args.burst:
            kind, d, counter, info = items[i]
            c = kernel_cost(d)
            if i > start and cost + c > args.burst_bytes:
                break
            if counter in ANSWERED:
                rx.expect(kind, counter, info)
            while True:
                try:
                    sock.sendto(d, server)
                    break
                except BlockingIOError:
                    rx.drain()
                    time.sleep(0.001)
            cost += c
            i += 1
        bursts += 1
        wait_rx(i)
    rx.drain()
    missing_before_final = rx.missing()

    # The valid request: RFC 8489 Binding with SOFTWARE and FINGERPRINT.
    head = MAGIC_B + b"floe-final!!"
    final = message(stun_type(BINDING, REQUEST), tlv(A_SOFTWARE, b"malformed_stun.py"), head,
                    fp=True)
    counter, info = classify(final)
    assert counter == "binding_ok"
    rx.expect("final_valid_binding", counter, info)
    sock.sendto(final, server)
    end = time.monotonic() + args.final_timeout
    while rx.final is None and time.monotonic() < end:
        select.select([sock], [], [], 0.05)
        rx.drain()
    wait_rx(n + 1)
    rx.drain()
    elapsed = time.monotonic() - t0

    expected = {c: 0 for c in COUNTERS}
    for _, _, counter, _ in items:
        expected[counter] += 1
    expected["binding_ok"] += 1  # the final request
    expected["rx"] = n + 1
    final_ok = rx.final is not None
    mapped = None
    if final_ok:
        _, key, _, _ = check_response(rx.final, local)
        av = {a[0]: a[1] for a in parse_attrs(rx.final, HDR, len(rx.final))}
        mapped = "%s:%d" % decode_addr(av[A_XOR_MAPPED], True, key)
    report = {
        "seed": args.seed,
        "sha256": digest(items),
        "datagrams": n + 1,
        "kinds": [{"kind": k, "count": sum(v.values()), "counters": v}
                  for k, v in kind_table(items).items()],
        "expected_counters": expected,
        "responses": dict(rx.got),
        "responses_total": rx.total,
        "responses_by_kind": rx.by_kind,
        "stray_datagrams": rx.stray,
        "response_failures": rx.failures,
        "missing_responses": rx.missing()[:50],
        "missing_before_final": len(missing_before_final),
        "final": {"ok": final_ok, "xor_mapped_address": mapped,
                  "local": "%s:%d" % local},
        "pacing": {"bursts": bursts, "stats_polls": polls, "seconds": round(elapsed, 3),
                   "udp_rcvbuf_errors_delta": udp_rcvbuf_errors() - rcvbuf0
                   if rcvbuf0 >= 0 else None},
    }
    sock.close()
    return report


def print_table(report_kinds, responses_by_kind=None, out=sys.stdout):
    out.write("%-28s %6s  %-40s %s\n" % ("kind", "sent", "expected counter(s)",
                                         "responses" if responses_by_kind is not None else ""))
    for row in report_kinds:
        cs = ", ".join("%s=%d" % (c, n) for c, n in sorted(row["counters"].items()))
        resp = ""
        if responses_by_kind is not None:
            resp = str(responses_by_kind.get(row["kind"], 0))
        out.write("%-28s %6d  %-40s %s\n" % (row["kind"], row["count"], cs, resp))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", help="127.0.0.1:PORT of the floe server under test")
    ap.add_argument("--control", help="the server's control socket (counters JSON)")
    ap.add_argument("--report", help="write the JSON report here")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--burst", type=int, default=100, help="datagrams per burst")
    ap.add_argument("--burst-bytes", type=int, default=96 * 1024,
                    help="estimated kernel memory per burst")
    ap.add_argument("--max-seconds", type=float, default=120.0, help="bound on the whole run")
    ap.add_argument("--final-timeout", type=float, default=5.0)
    ap.add_argument("--dry-run", action="store_true",
                    help="generate and self-check only; print the table and the digest")
    args = ap.parse_args()

    items = generate(args.seed)
    kinds = [{"kind": k, "count": sum(v.values()), "counters": v}
             for k, v in kind_table(items).items()]
    if args.dry_run:
        print_table(kinds)
        print("datagrams %d, kinds %d, sha256 %s" % (len(items), len(kinds), digest(items)))
        return 0
    if not (args.server and args.control and args.report):
        ap.error("--server, --control and --report are needed (or --dry-run)")
    report = run(args, items)
    with open(args.report, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    ok = (report["final"]["ok"] and not report["response_failures"]
          and not report["missing_responses"] and report["stray_datagrams"] == 0)
    print("sent %d datagrams in %d bursts, %.2f s; %d responses; final Binding %s (%s)" % (
        report["datagrams"], report["pacing"]["bursts"], report["pacing"]["seconds"],
        report["responses_total"], "answered" if report["final"]["ok"] else "NOT answered",
        report["final"]["xor_mapped_address"]))
    for why in report["response_failures"]:
        print("FAIL: " + why)
    for m in report["missing_responses"]:
        print("FAIL: no response for %s" % (m,))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
