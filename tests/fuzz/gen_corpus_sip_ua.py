#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_sip_ua.c (tests/fuzz/corpus/fuzz_sip_ua/).

Each seed is a program in the fuzzer's input language: a configuration byte, then
operations (an opcode byte and its arguments; see fuzz_sip_ua.c). The seeds walk the
user agent to its deep states: ICE calls between the two UAs up to CONFIRMED, plain and
ICE calls with carol (the scripted party) answered from templates, registration with a
digest challenge, CANCEL, re-INVITE. Run it from anywhere; it rewrites the directory's
seed-* files."""
import os

B = 0x80  # the opcode's top bit: the operation is for bob (UA 1) instead of alice

def cfg(delay=1, alice_dead_host=False, alice_no_ice=False, bob_no_ice=False,
        alice_auth=False, alice_auto=False, bob_auto=False, carol_acks=False,
        carol_answers=False, stun=False, stun_answers=False, alice_tone=False, bob_pull=False,
        push=False, alice_tcp=False):
    """The two configuration bytes."""
    return bytes([delay | (4 if alice_dead_host else 0) | (8 if alice_no_ice else 0)
                  | (0x10 if bob_no_ice else 0) | (0x20 if alice_auth else 0)
                  | (0x40 if alice_auto else 0) | (0x80 if bob_auto else 0),
                  (1 if carol_acks else 0) | (2 if carol_answers else 0) | (4 if stun else 0)
                  | (8 if stun_answers else 0) | (0x10 if alice_tone else 0)
                  | (0x20 if bob_pull else 0) | (0x40 if push else 0)
                  | (0x80 if alice_tcp else 0)])

def run_ms(ms):  # op 3: 10 ms steps, 1..64
    out = b""
    while ms > 0:
        k = min(64, max(1, ms // 10))
        out += bytes([3, k - 1])
        ms -= k * 10
    return out

def run_s(s):  # op 4: 1 s steps, 1..16
    out = b""
    while s > 0:
        k = min(16, s)
        out += bytes([4, k - 1])
        s -= k
    return out

def api(ua, what):  # op 5
    codes = {"dial": 0, "dial_carol": 2, "dial_bad": 3, "answer": 4, "hangup": 6,
             "register": 7, "unregister": 8, "add_host": 9, "ice_restart": 10,
             "transport_error": 11}
    return bytes([5 | (B if ua else 0), codes[what]])

STATUS = [100, 180, 183, 200, 401, 407, 486, 487, 488, 500, 603, 182, 491, 181, 202, 302]

def resp(ua, status, last_req=False, sdp=2, reliable180=False, tag=0):  # op 7
    # f, status, RSeq choice (1: the next one), SDP kind, damage (0: none)
    f = (2 if last_req else 0) | (tag << 2) | (0x10 if reliable180 else 0) | 0x80
    return bytes([7 | (B if ua else 0), f, STATUS.index(status), 1, sdp, 0])

def invite(ua, sdp=2, prack=True, from_peer=False):  # op 9
    f = (2 if prack else 0) | (0x80 if from_peer else 0)
    return bytes([9 | (B if ua else 0), f, sdp, 0])  # f, SDP kind, damage

def cancel(ua):  # op 10
    return bytes([10 | (B if ua else 0), 0, 0])  # f, damage

METHODS = ["PRACK", "ACK", "BYE", "INVITE", "PRACK", "OPTIONS", "UPDATE", "INFO"]

def in_dialog(ua, method, from_resp=True, cseq_mode=0, ack_invite_cseq=True, sdp=2):  # op 11
    op = 11 | (METHODS.index(method) << 4) | (B if ua else 0)
    f = (1 if from_resp else 0) | (cseq_mode << 1) | (8 if ack_invite_cseq else 0)
    return bytes([op, f, sdp, 0])  # f, SDP kind, damage

def stun_check(ua, use_candidate=True):  # op 13, kind 2
    f = 2 | (0x20 if use_candidate else 0)
    return bytes([13 | (B if ua else 0), f, 0]) + bytes(range(1, 13)) + b"\x12\x34"

def rtp(ua, seq=1):  # op 13, kind 0
    return bytes([13 | (B if ua else 0), 0, 0]) + seq.to_bytes(2, "big")

def deliver(n=4):  # op 0: deliver the next n in flight
    return bytes([0, (n - 1) << 3, 0])

def drop(which=0):  # op 0, kind 2: drop a datagram in flight
    return bytes([0, 2, which])

SEEDS = {
    # two ICE UAs: alice calls bob, bob answers by himself, both confirmed, alice hangs up
    "ice-call-auto-answer": cfg(bob_auto=True) + api(0, "dial") + run_s(6) + api(0, "hangup")
    + run_s(2),
    # the same, bob answers through the API, bob hangs up
    "ice-call-api-answer": cfg() + api(0, "dial") + run_s(4) + api(1, "answer") + run_s(3)
    + api(1, "hangup") + run_s(2),
    # alice's default host is unreachable: ICE picks her other one and she re-INVITEs;
    # one datagram dropped early, and a re-INVITE from bob's side at the end
    "ice-call-dead-host-reinvite": cfg(alice_dead_host=True, bob_auto=True) + api(0, "dial")
    + run_ms(300) + drop() + run_s(6) + in_dialog(0, "INVITE", sdp=0) + run_s(1),
    # both gather server-reflexive candidates from carol's STUN server; alice's default is
    # her srflx one, ICE selects the host pair, so she re-INVITEs; audio both ways
    "srflx-call-reinvite": cfg(bob_auto=True, stun=True, stun_answers=True, alice_tone=True,
                               bob_pull=True, push=True) + api(0, "dial") + run_s(8)
    + api(0, "hangup") + run_s(2),
    # the STUN server is silent: gathering waits for it, alice hangs up meanwhile, then
    # calls again and the INVITE goes once gathering gave up
    "stun-silent-hangup-gathering": cfg(stun=True) + api(0, "dial") + run_ms(100)
    + api(0, "hangup") + api(0, "dial") + run_s(10) + api(0, "hangup") + run_s(2),
    # a confirmed ICE call, then alice restarts ICE (re-INVITE with new credentials)
    "ice-restart": cfg(bob_auto=True) + api(0, "dial") + run_s(3) + api(0, "ice_restart")
    + run_s(3) + api(0, "hangup") + run_s(2),
    # alice calls bob over TCP (bob answers on the INVITE's transport)
    "tcp-call": cfg(bob_auto=True, alice_tcp=True) + api(0, "dial") + run_s(3)
    + api(1, "hangup") + run_s(2),
    # alice calls carol, the runtime reports carol unreachable: the call fails at once
    "carol-unreachable": cfg() + api(0, "dial_carol") + run_ms(100)
    + bytes([5, 23]) + run_s(1),  # transport_error towards carol (23 % 12 == 11, 0x10 set)
    # alice without ICE calls bob: a plain call, bob rings at once
    "plain-caller": cfg(alice_no_ice=True, bob_auto=True) + api(0, "dial") + run_s(3)
    + api(0, "hangup") + run_s(1),
    # bob without ICE answers alice's ICE offer plainly
    "plain-callee": cfg(bob_no_ice=True) + api(0, "dial") + run_s(2) + api(1, "answer")
    + run_s(2),
    # alice calls bob and cancels while it rings
    "ice-call-cancel": cfg() + api(0, "dial") + run_s(3) + api(0, "hangup") + run_s(3),
    # alice calls carol: 100, reliable 183 with a plain answer, 180, 200, then BYE and its 200
    "carol-callee-plain": cfg() + api(0, "dial_carol") + run_ms(100) + resp(0, 100)
    + resp(0, 183, sdp=2) + resp(0, 180) + resp(0, 200, sdp=2) + run_s(1) + api(0, "hangup")
    + resp(0, 200, last_req=True),
    # alice calls carol, carol answers with ICE in a reliable 183 and answers the checks
    "carol-callee-ice": cfg() + api(0, "dial_carol") + run_ms(100) + resp(0, 183, sdp=0)
    + run_s(2) + resp(0, 180) + resp(0, 200, sdp=0) + run_s(2) + api(0, "hangup")
    + resp(0, 200, last_req=True),
    # alice calls carol, who asks for proxy credentials first
    "carol-callee-407": cfg(alice_auth=True, carol_answers=True) + api(0, "dial_carol") + run_ms(100)
    + resp(0, 407) + resp(0, 183, sdp=2) + resp(0, 200, sdp=2) + run_s(1),
    # carol calls bob with a plain offer; bob rings, answers, carol ACKs and hangs up
    "carol-caller-plain": cfg() + invite(1, sdp=2) + run_ms(300) + api(1, "answer")
    + in_dialog(1, "ACK") + run_s(1) + in_dialog(1, "BYE") + run_s(1),
    # carol calls bob with ICE: 183, her nominating check, PRACK, ring, answer, ACK, BYE
    "carol-caller-ice": cfg() + invite(1, sdp=0) + run_ms(400) + stun_check(1) + run_ms(300)
    + in_dialog(1, "PRACK") + run_ms(300) + api(1, "answer") + in_dialog(1, "ACK")
    + rtp(1) + run_s(1) + in_dialog(1, "OPTIONS") + in_dialog(1, "BYE") + run_s(1),
    # carol calls bob with ICE but without 100rel: the late answer (unreliable 183s, bob's
    # own checks to carol succeed, then the ring), answer, ACK, BYE
    "carol-caller-ice-late": cfg() + invite(1, sdp=0, prack=False) + run_ms(600)
    + api(1, "answer") + in_dialog(1, "ACK") + stun_check(1) + run_s(1) + in_dialog(1, "BYE")
    + run_s(1),
    # alice calls carol and gives up while it rings: carol answers the CANCEL by herself
    "carol-callee-cancel": cfg(carol_answers=True) + api(0, "dial_carol") + run_ms(100)
    + resp(0, 180) + api(0, "hangup") + run_s(2),
    # carol calls bob, then cancels before the ring
    "carol-caller-cancel": cfg(carol_acks=True) + invite(1, sdp=0) + run_ms(100) + cancel(1) + run_s(1),
    # carol's BYE in bob's early dialog (before the PRACK) ends his call (200, 487): the
    # PRACK after it gets 481 (found by this fuzzer, fixed in 18fcfff)
    "bye-early-callee": cfg() + invite(1, sdp=0) + run_ms(300) + in_dialog(1, "BYE")
    + run_ms(500) + in_dialog(1, "PRACK") + run_ms(100),
    # the same while bob rings (plain offer): the answer after it fails (no call rings)
    "bye-ringing-callee": cfg() + invite(1, sdp=2) + run_ms(300) + in_dialog(1, "BYE")
    + run_ms(100) + api(1, "answer") + run_s(40),
    # a BYE from carol in alice's early dialog (after the 180): alice answers 200 and
    # cancels her INVITE; the 200 that crosses the CANCEL is ACKed and BYE'd
    "uac-bye-early": cfg() + api(0, "dial_carol") + run_ms(100) + resp(0, 180)
    + in_dialog(0, "BYE", from_resp=False) + run_ms(100) + resp(0, 200, sdp=2) + run_s(2),
    # a forked answer: a second 200 from another dialog (To tag ct2) is ACKed in its own
    # dialog and ended with a BYE (it was ACKed in the first one; found by this fuzzer)
    "fork-200": cfg() + api(0, "dial_carol") + run_ms(100) + resp(0, 200, sdp=2, tag=0)
    + resp(0, 200, sdp=2, tag=1) + run_s(1),
    # alice gives up on a ringing call, carol refuses the CANCEL (500): the call fails;
    # carol's 200 comes after it, and no audio may start (found by this fuzzer, 3a67bbb)
    "late-200-after-failure": cfg(carol_acks=True) + api(0, "dial_carol") + run_ms(100)
    + resp(0, 180) + api(0, "hangup") + resp(0, 500, last_req=True) + run_ms(100)
    + resp(0, 200, sdp=2) + run_s(2),
    # bob registers with carol: a 401 challenge, then 200; refresh; unregister
    "register-401": cfg() + api(1, "register") + resp(1, 401, last_req=True)
    + resp(1, 200, last_req=True) + run_s(40) + resp(1, 200, last_req=True)
    + api(1, "unregister") + resp(1, 200, last_req=True),
    # bob calls out through carol (his outbound proxy), carol rejects
    "bob-calls-carol-486": cfg(carol_acks=True, carol_answers=True) + api(1, "dial") + run_ms(200) + resp(1, 100)
    + resp(1, 486) + run_s(1),
}

def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_sip_ua")
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith("seed-"):
            os.remove(os.path.join(d, name))
    for name, data in SEEDS.items():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)

if __name__ == "__main__":
    main()
