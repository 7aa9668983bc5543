#!/usr/bin/env python3
"""Tones for the call lab: write a test tone, and find which tone a recording holds.

    tone_check.py gen OUT.wav --freq HZ [--seconds S] [--rate R] [--level DBFS]
    tone_check.py check IN.wav --expect HZ [--other HZ]... [--min-seconds S]
                  [--min-fraction F] [--silence DBFS]

gen writes a mono 16-bit PCM WAV with a sine of HZ (default 8000 Hz rate, 8 s, -10 dBFS,
10 ms fades at both ends so the codec sees no click).

check cuts the recording into 100 ms blocks and keeps the blocks louder than --silence
(default -40 dBFS): the "sounding" part of the call (a recording starts with silence until
the first packet arrives, and a jitter buffer may insert some). Over those blocks it
measures, with the Goertzel algorithm (one DFT bin per frequency):
  - the power at each frequency of a grid (100 Hz to just under half the sample rate, in
    10 Hz steps) plus --expect and every --other, and reports the strongest one: the
    dominant frequency;
  - the fraction of the sounding energy that lies at --expect (1.0 for a pure tone; a
    G.711 round trip keeps it above 0.95).
It prints one JSON line and exits 0 when the dominant frequency is --expect (within one
10 Hz bin), the fraction is at least --min-fraction (default 0.8), and at least
--min-seconds (default 1.0) of the recording sound. Otherwise it exits 1 and the JSON
line says why ("error"). A file it cannot read exits 2.

Only the Python standard library is used (wave, math, struct).
"""
import argparse
import json
import math
import struct
import sys
import wave

BLOCK_S = 0.1  # 100 ms blocks: a 10 Hz bin spacing, whole cycles of any multiple of 10 Hz


def gen(args):
    n = int(args.seconds * args.rate)
    amp = 32767 * 10 ** (args.level / 20)
    fade = int(0.01 * args.rate)
    frames = bytearray()
    w = 2 * math.pi * args.freq / args.rate
    for i in range(n):
        g = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
        frames += struct.pack("<h", int(round(amp * g * math.sin(w * i))))
    with wave.open(args.out, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(args.rate)
        f.writeframes(bytes(frames))
    print(json.dumps({"file": args.out, "freq_hz": args.freq, "rate": args.rate,
                      "seconds": n / args.rate, "level_dbfs": args.level}))
    return 0


def read_mono(path):
    """The samples of the first channel as floats in [-1, 1), and the sample rate."""
    with wave.open(path, "rb") as f:
        ch, width, rate, n = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
        raw = f.readframes(n)
    if width != 2:
        raise ValueError(f"{width * 8}-bit samples: only 16-bit PCM is read")
    count = len(raw) // (2 * ch)
    vals = struct.unpack(f"<{count * ch}h", raw[: count * ch * 2])
    return [v / 32768.0 for v in vals[::ch]], rate


def goertzel_power(x, coeffs):
    """|X(f)|^2 of block x at every frequency whose 2*cos(w) is in coeffs."""
    out = []
    for c in coeffs:
        s1 = s2 = 0.0
        for v in x:
            s1, s2 = v + c * s1 - s2, s1
        out.append(s1 * s1 + s2 * s2 - c * s1 * s2)
    return out


def check(args):
    try:
        samples, rate = read_mono(args.wav)
    except (OSError, EOFError, ValueError, wave.Error, struct.error) as e:
        print(json.dumps({"file": args.wav, "error": f"cannot read: {e}"}))
        return 2
    n = int(rate * BLOCK_S)
    nyq = rate / 2
    freqs = sorted(set(list(range(100, int(nyq) - 50, 10)) + [args.expect] + args.other))
    freqs = [f for f in freqs if 0 < f < nyq]
    coeffs = [2 * math.cos(2 * math.pi * f / rate) for f in freqs]
    floor = n * (10 ** (args.silence / 20)) ** 2 / 2  # energy of a sine at --silence dBFS
    power = [0.0] * len(freqs)
    total = 0.0
    sounding = 0
    for start in range(0, len(samples) - n + 1, n):
        x = samples[start:start + n]
        e = sum(v * v for v in x)
        if e < floor:
            continue
        sounding += 1
        total += e
        for i, p in enumerate(goertzel_power(x, coeffs)):
            power[i] += p
    res = {"file": args.wav, "rate": rate, "seconds": round(len(samples) / rate, 3),
           "sounding_seconds": round(sounding * BLOCK_S, 3), "expect_hz": args.expect}
    if sounding == 0:
        res["error"] = f"no block louder than {args.silence} dBFS: silence"
        print(json.dumps(res))
        return 1
    best = max(range(len(freqs)), key=lambda i: power[i])
    # a sine's energy over a block is A^2 n / 2 and its bin power (A n / 2)^2, so the
    # fraction of the energy at f is 2 |X(f)|^2 / (n * energy)
    frac = {f: 2 * power[i] / (n * total) for i, f in enumerate(freqs)}
    res["dominant_hz"] = freqs[best]
    res["fraction"] = round(frac[args.expect], 4)
    res["level_dbfs"] = round(10 * math.log10(2 * total / (sounding * n)), 1)
    if args.other:
        res["other_fraction"] = {str(f): round(frac[f], 4) for f in args.other}
    why = []
    if abs(freqs[best] - args.expect) > 10:
        why.append(f"dominant frequency {freqs[best]} Hz, expected {args.expect} Hz")
    if frac[args.expect] < args.min_fraction:
        why.append(f"only {frac[args.expect]:.2f} of the energy at {args.expect} Hz "
                   f"(at least {args.min_fraction})")
    if sounding * BLOCK_S < args.min_seconds:
        why.append(f"{sounding * BLOCK_S:.1f} s of sound, at least {args.min_seconds} s expected")
    if why:
        res["error"] = "; ".join(why)
    print(json.dumps(res))
    return 1 if why else 0


def main():
    p = argparse.ArgumentParser(description="write a test tone, or find the tone in a recording")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write a sine tone to a WAV file")
    g.add_argument("out")
    g.add_argument("--freq", type=int, required=True)
    g.add_argument("--seconds", type=float, default=8.0)
    g.add_argument("--rate", type=int, default=8000)
    g.add_argument("--level", type=float, default=-10.0, help="peak level in dBFS")
    c = sub.add_parser("check", help="is the expected tone the one in this recording?")
    c.add_argument("wav")
    c.add_argument("--expect", type=int, required=True)
    c.add_argument("--other", type=int, action="append", default=[],
                   help="also report the energy fraction at this frequency (repeat)")
    c.add_argument("--min-seconds", type=float, default=1.0)
    c.add_argument("--min-fraction", type=float, default=0.8)
    c.add_argument("--silence", type=float, default=-40.0,
                   help="blocks quieter than this (dBFS) are ignored")
    a = p.parse_args()
    sys.exit(gen(a) if a.cmd == "gen" else check(a))


if __name__ == "__main__":
    main()
