"""A small milter protocol client (the MTA side), for driving mailvetd in tests.

Speaks protocol version 6 as Postfix does: option negotiation, macros,
connect/helo/mail/header/eoh/body/eom, abort and quit; collects the
modification requests (insert/change header, quarantine) and the final
answer of each step.
"""
import socket
import struct

# Protocol step flags the MTA offers (libmilter mfdef.h).
SMFIP_NOCONNECT = 0x1
SMFIP_NOHELO = 0x2
SMFIP_NOMAIL = 0x4
SMFIP_NORCPT = 0x8
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NR_RCPT = 0x8000
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_HDR_LEADSPC = 0x100000
ALL_PROTOCOL = 0x1FFFFF
ALL_ACTIONS = 0x1FF

FINAL = {b"c": "continue", b"a": "accept", b"r": "reject", b"t": "tempfail",
         b"d": "discard", b"y": "replycode"}


class MilterError(Exception):
    pass


class Answer:
    """What the milter said to one step: modifications, then a final code."""

    def __init__(self):
        self.mods = []      # (kind, data) in order: ("insheader", idx, name, value), ...
        self.final = None   # "continue", "accept", "reject", "tempfail", "replycode"
        self.reply = None   # the text of a replycode answer

    def inserted(self, name=None):
        return [m for m in self.mods if m[0] == "insheader" and (name is None or m[2].lower() == name.lower())]

    def changed(self, name=None):
        return [m for m in self.mods if m[0] == "chgheader" and (name is None or m[2].lower() == name.lower())]

    def __repr__(self):
        return "Answer(final=%r, reply=%r, mods=%r)" % (self.final, self.reply, self.mods)


def _cstrs(*parts):
    out = b""
    for p in parts:
        out += (p.encode() if isinstance(p, str) else p) + b"\0"
    return out


class MilterClient:
    def __init__(self, host, port, timeout=60, offer=ALL_PROTOCOL):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.offer = offer
        self.skip = 0
        self.leadspc = False

    # ---- framing
    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise MilterError("connection closed by the milter")
            buf += chunk
        return buf

    def recv(self):
        (n,) = struct.unpack("!I", self._recv_exact(4))
        if n < 1 or n > 1 << 24:
            raise MilterError("bad packet length %d" % n)
        data = self._recv_exact(n)
        return data[:1], data[1:]

    def answer(self):
        """Read packets until a final answer; returns an Answer."""
        a = Answer()
        while True:
            cmd, data = self.recv()
            if cmd == b"p":           # progress
                continue
            if cmd == b"i" or cmd == b"m":
                (idx,) = struct.unpack("!I", data[:4])
                name, value = data[4:].split(b"\0")[:2]
                a.mods.append(("insheader" if cmd == b"i" else "chgheader", idx,
                               name.decode(), value.decode("utf-8", "replace")))
                continue
            if cmd == b"h":
                name, value = data.split(b"\0")[:2]
                a.mods.append(("addheader", None, name.decode(), value.decode()))
                continue
            if cmd == b"q":
                a.mods.append(("quarantine", None, "", data.rstrip(b"\0").decode()))
                continue
            if cmd in FINAL:
                a.final = FINAL[cmd]
                if cmd == b"y":
                    a.reply = data.rstrip(b"\0").decode()
                return a
            raise MilterError("unexpected answer %r" % cmd)

    # ---- steps
    def negotiate(self):
        self.send(b"O", struct.pack("!III", 6, ALL_ACTIONS, self.offer))
        cmd, data = self.recv()
        if cmd != b"O":
            raise MilterError("no option negotiation reply: %r" % cmd)
        version, actions, proto = struct.unpack("!III", data[:12])
        self.skip = proto
        self.leadspc = bool(proto & SMFIP_HDR_LEADSPC)
        self.actions = actions
        return version, actions, proto

    def macros(self, step, **kv):
        data = step
        for k, v in kv.items():
            name = k if len(k) == 1 else "{%s}" % k
            data += _cstrs(name, v)
        self.send(b"D", data)

    def connect(self, hostname, addr, port=25, family=b"4", macros=None):
        if macros:
            self.macros(b"C", **macros)
        self.send(b"C", hostname.encode() + b"\0" + family + struct.pack("!H", port) +
                  addr.encode() + b"\0")
        return self.answer()

    def helo(self, name):
        self.send(b"H", _cstrs(name))
        return self.answer()

    def mail(self, sender, macros=None, rcpt="rcpt@dest.example"):
        """MAIL FROM, then (as an MTA does, unless the milter asked to skip it)
        one RCPT TO; returns the answer to MAIL, or to RCPT if it was not continue."""
        if macros:
            self.macros(b"M", **macros)
        self.send(b"M", _cstrs("<%s>" % sender))
        a = self.answer()
        if a.final != "continue" or self.skip & SMFIP_NORCPT or rcpt is None:
            return a
        self.send(b"R", _cstrs("<%s>" % rcpt))
        if self.skip & SMFIP_NR_RCPT:
            return a
        return self.answer()

    def rcpt(self, recipient):
        """One RCPT TO; None when the milter asked for no reply (SMFIP_NR_RCPT)."""
        self.send(b"R", _cstrs("<%s>" % recipient))
        if self.skip & SMFIP_NR_RCPT:
            return None
        return self.answer()

    def header(self, name, value):
        """value as in the message after the colon (a leading space is dropped
        unless the milter asked for SMFIP_HDR_LEADSPC, as an MTA does)."""
        if not self.leadspc and value.startswith(" "):
            value = value[1:]
        self.send(b"L", name.encode() + b"\0" + value.encode("utf-8", "surrogateescape") + b"\0")
        if self.skip & SMFIP_NR_HDR:
            return None
        return self.answer()

    def eoh(self):
        self.send(b"N")
        return self.answer()

    def body(self, data, chunk=65535):
        last = None
        for i in range(0, len(data), chunk):
            self.send(b"B", data[i:i + chunk])
            last = self.answer()
            if last.final != "continue":
                return last
        return last

    def eom(self, macros=None):
        if macros:
            self.macros(b"E", **macros)
        self.send(b"E")
        return self.answer()

    def abort(self):
        self.send(b"A")      # no answer to abort

    def quit(self):
        try:
            self.send(b"Q")
        finally:
            self.sock.close()

    def message(self, sender, headers, body, queue_id="QID", auth=None, eom_macros=None,
                rcpt="rcpt@dest.example", rcpts=None):
        """MAIL FROM .. end of message; returns the Answer to end of message.
        rcpts: several RCPT TO instead of the one rcpt (sent only when the
        milter asked for them: no SMFIP_NORCPT)."""
        m = {"i": queue_id}
        if auth:
            m["auth_authen"] = auth
        a = self.mail(sender, macros=m, rcpt=None if rcpts else rcpt)
        if a.final != "continue":
            return a
        for r in rcpts if rcpts and not self.skip & SMFIP_NORCPT else ():
            a = self.rcpt(r)
            if a is not None and a.final != "continue":
                return a
        for name, value in headers:
            a = self.header(name, value)
            if a is not None and a.final != "continue":
                return a
        a = self.eoh()
        if a.final != "continue":
            return a
        if body:
            a = self.body(body)
            if a.final != "continue":
                return a
        return self.eom(macros=eom_macros)


def apply_mods(headers, mods):
    """The header list after the milter's changes, as an MTA applies them:
    chgheader(index counts fields of that name, 1-based; empty value deletes),
    insheader(index 0 = top)."""
    hs = list(headers)
    for kind, idx, name, value in mods:
        if kind == "chgheader":
            seen = 0
            for i, (n, v) in enumerate(hs):
                if n.lower() == name.lower():
                    seen += 1
                    if seen == idx:
                        if value == "":
                            del hs[i]
                        else:
                            hs[i] = (n, value)
                        break
        elif kind == "insheader":
            hs.insert(idx, (name, value))
        elif kind == "addheader":
            hs.append((name, value))
    return hs
