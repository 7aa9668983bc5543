#!/usr/bin/env python3
"""Drive one baresip (1.0.0) through its ctrl_tcp module, for the floe call lab.

    baresip_ctrl.py [--host 127.0.0.1] [--port 4444] [--connect-timeout S] FIFO

ctrl_tcp listens on TCP and takes one connection at a time (a new one replaces the
old), so one driver stays connected for the user agent's whole life:
  - each line written to FIFO (a named pipe the driver creates if missing) is a command,
    "NAME [PARAMS]" (e.g. "dial sip:bob@198.18.0.1", "hangup", "quit"), sent as the JSON
    {"command": NAME, "params": PARAMS, "token": "N"} in a netstring, N counting from 1;
  - every message from baresip (command responses and user-agent events:
    REGISTER_OK, CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, ...) is printed on stdout
    as one JSON line with the wall-clock time "t" (seconds, microsecond resolution)
    added; commands sent are printed too, as {"t": ..., "sent": {...}}.
Stdout is flushed after every line, so a test can wait for a line with grep.

The driver ends when baresip closes the connection (after "quit") or on SIGTERM. It
exits 1 if it cannot connect within --connect-timeout seconds (default 10).
Netstrings: "LEN:PAYLOAD," with LEN in decimal (https://cr.yp.to/proto/netstrings.txt).
"""
import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time


def out(obj):
    obj = {"t": round(time.time(), 6), **obj}
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def netstrings(buf):
    """Splits complete netstrings off buf: (list of payloads, rest)."""
    items = []
    while True:
        colon = buf.find(b":")
        if colon < 0:
            return items, buf
        if not buf[:colon].isdigit() or colon > 9:
            raise ValueError(f"bad netstring length {buf[:colon][:20]!r}")
        n = int(buf[:colon])
        end = colon + 1 + n
        if len(buf) < end + 1:
            return items, buf
        if buf[end:end + 1] != b",":
            raise ValueError("netstring not terminated by ','")
        items.append(buf[colon + 1:end])
        buf = buf[end + 1:]


def main():
    p = argparse.ArgumentParser(description="keep a ctrl_tcp connection to baresip, send "
                                "the commands read from FIFO, print responses and events")
    p.add_argument("fifo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4444)
    p.add_argument("--connect-timeout", type=float, default=10.0)
    a = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    if not os.path.exists(a.fifo):
        os.mkfifo(a.fifo)
    # O_RDWR: the driver holds a writer itself, so the pipe never reads EOF between two
    # writers and opening it for writing never blocks while the driver runs.
    fifo = os.open(a.fifo, os.O_RDWR | os.O_NONBLOCK)

    deadline = time.monotonic() + a.connect_timeout
    while True:
        try:
            sock = socket.create_connection((a.host, a.port), timeout=1)
            break
        except OSError as e:
            if time.monotonic() > deadline:
                out({"error": f"cannot connect to {a.host}:{a.port}: {e}"})
                sys.exit(1)
            time.sleep(0.1)
    sock.setblocking(False)
    out({"connected": f"{a.host}:{a.port}"})

    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "sock")
    sel.register(fifo, selectors.EVENT_READ, "fifo")
    rbuf, lbuf, token = b"", b"", 0
    while True:
        for key, _ in sel.select():
            if key.data == "sock":
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    out({"closed": True})
                    return
                rbuf += data
                items, rbuf = netstrings(rbuf)
                for item in items:
                    try:
                        msg = json.loads(item)
                    except ValueError:
                        msg = {"unparsed": item.decode("utf-8", "replace")}
                    out(msg)
            else:
                lbuf += os.read(fifo, 4096)
                while b"\n" in lbuf:
                    line, lbuf = lbuf.split(b"\n", 1)
                    line = line.decode().strip()
                    if not line:
                        continue
                    name, _, params = line.partition(" ")
                    token += 1
                    cmd = {"command": name, "params": params, "token": str(token)}
                    payload = json.dumps(cmd).encode()
                    sock.setblocking(True)
                    sock.sendall(b"%d:%s," % (len(payload), payload))
                    sock.setblocking(False)
                    out({"sent": cmd})


if __name__ == "__main__":
    main()
