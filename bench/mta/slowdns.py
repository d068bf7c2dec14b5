"""bench/mta/slowdns.py — an authoritative DNS server that answers every query after a delay.

For bench/mta/cold.py: it serves the benchmark zone (names given as a dict) on 127.0.0.1,
UDP and TCP, and answers each query DELAY seconds after it arrived, every query on its own
timer (queries are not serialized: ten questions asked at once are answered together, 50 ms
later), so a filter that asks its questions in parallel pays one delay per round, not one
per question. Every query is logged with its arrival time (time.monotonic(), the clock the
benchmark's client uses) so the benchmark can count them and their rounds.
"""
import heapq
import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 300


def txt_rdata(text):
    """A TXT rdata from its zone-file text (one or more quoted strings), every string cut
    to at most 255 bytes, as a zone compiler does with a long DKIM key."""
    parts, cur, inq, esc = [], "", False, False
    for ch in text:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\" and inq:
            esc = True
        elif ch == '"':
            if inq:
                parts.append(cur)
                cur = ""
            inq = not inq
        elif inq:
            cur += ch
    if not parts and text.strip():
        parts = [text.strip()]
    joined = "".join(parts)
    chunks = [joined[i:i + 255] for i in range(0, len(joined), 255)] or [""]
    return " ".join('"%s"' % c.replace("\\", "\\\\").replace('"', '\\"') for c in chunks)


class Zone:
    """Records by owner name: {name.: {rdtype: [rdata text]}}; apexes the zones served."""

    def __init__(self, apexes):
        self.apexes = [dns.name.from_text(a) for a in apexes]
        self.rr = {}
        self.lock = threading.Lock()

    def add(self, name, rtype, rdata):
        n = dns.name.from_text(name.rstrip(".") + ".")
        t = dns.rdatatype.from_text(rtype.upper())
        if t == dns.rdatatype.TXT:
            rdata = txt_rdata(rdata)
        elif t in (dns.rdatatype.PTR, dns.rdatatype.CNAME, dns.rdatatype.NS,
                   dns.rdatatype.MX) and not rdata.strip().endswith("."):
            rdata = rdata.strip() + "."
        rd = dns.rdata.from_text(dns.rdataclass.IN, t, rdata)
        with self.lock:
            self.rr.setdefault(n, {}).setdefault(t, []).append(rd)

    def add_zone_text(self, text):
        for line in text.splitlines():
            p = line.split(None, 2)
            if len(p) == 3 and not line.startswith(";"):
                self.add(p[0], p[1], p[2])

    def apex_of(self, name):
        best = None
        for a in self.apexes:
            if name.is_subdomain(a) and (best is None or len(a) > len(best)):
                best = a
        return best

    def soa(self, apex):
        return dns.rrset.from_text(apex, TTL, "IN", "SOA",
                                   "ns.%s hostmaster.%s 1 3600 600 86400 60" % (apex, apex))

    def answer(self, query):
        r = dns.message.make_response(query)
        r.flags |= dns.flags.AA
        r.flags &= ~dns.flags.RA
        if not query.question:
            r.set_rcode(dns.rcode.FORMERR)
            return r
        q = query.question[0]
        apex = self.apex_of(q.name)
        if apex is None:
            r.flags &= ~dns.flags.AA
            r.set_rcode(dns.rcode.REFUSED)
            return r
        with self.lock:
            node = self.rr.get(q.name)
            exists = node is not None or any(n.is_subdomain(q.name) for n in self.rr) \
                or q.name == apex
            rds = list(node.get(q.rdtype, [])) if node else []
        if q.name == apex and q.rdtype == dns.rdatatype.SOA:
            r.answer.append(self.soa(apex))
        elif q.name == apex and q.rdtype == dns.rdatatype.NS:
            r.answer.append(dns.rrset.from_text(apex, TTL, "IN", "NS", "ns.%s" % apex))
        elif rds:
            rs = dns.rrset.RRset(q.name, dns.rdataclass.IN, q.rdtype)
            for rd in rds:
                rs.add(rd, TTL)
            r.answer.append(rs)
        else:
            if not exists:
                r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(self.soa(apex))
        return r


class SlowServer:
    """UDP and TCP on 127.0.0.1:port; every answer sent delay seconds after its query."""

    def __init__(self, zone, delay=0.05, port=0):
        self.zone = zone
        self.delay = delay
        self.log = []            # (arrival monotonic, qname lowercased without dot, qtype, proto)
        self.loglock = threading.Lock()
        self.heap = []
        self.cv = threading.Condition()
        self.seq = 0
        self.stopping = False
        # A UDP port the kernel picks may be taken for TCP by someone else (other tests,
        # other benchmarks): try again with another one, a few times.
        for attempt in range(20):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", port))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
                if port or attempt == 19:
                    raise
        self.tcp.listen(64)
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._udp_loop, self._tcp_loop, self._sender)]
        for t in self.threads:
            t.start()

    def _note(self, t, wire, proto):
        try:
            q = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 — a query we cannot parse gets no answer
            return None
        if q.question:
            qq = q.question[0]
            with self.loglock:
                self.log.append((t, qq.name.to_text().rstrip(".").lower(),
                                 dns.rdatatype.to_text(qq.rdtype), proto))
        return q

    def _schedule(self, when, fn):
        with self.cv:
            self.seq += 1
            heapq.heappush(self.heap, (when, self.seq, fn))
            self.cv.notify()

    def _sender(self):
        while True:
            with self.cv:
                while not self.stopping and (not self.heap or self.heap[0][0] > time.monotonic()):
                    self.cv.wait(None if not self.heap else
                                 max(0.0, self.heap[0][0] - time.monotonic()))
                if self.stopping:
                    return
                _, _, fn = heapq.heappop(self.heap)
            try:
                fn()
            except OSError:
                pass

    def _udp_loop(self):
        while True:
            try:
                wire, addr = self.udp.recvfrom(65535)
            except OSError:
                return
            t = time.monotonic()
            q = self._note(t, wire, "udp")
            if q is None:
                continue
            resp = self.zone.answer(q)
            size = 512
            if q.edns >= 0:
                size = max(512, q.payload)
            out = resp.to_wire(max_size=size)
            self._schedule(t + self.delay, lambda o=out, a=addr: self.udp.sendto(o, a))

    def _tcp_loop(self):
        while True:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    def _tcp_conn(self, c):
        lock = threading.Lock()

        def send(o):
            with lock:
                c.sendall(struct.pack("!H", len(o)) + o)
        try:
            while True:
                hdr = b""
                while len(hdr) < 2:
                    b = c.recv(2 - len(hdr))
                    if not b:
                        return
                    hdr += b
                (n,) = struct.unpack("!H", hdr)
                wire = b""
                while len(wire) < n:
                    b = c.recv(n - len(wire))
                    if not b:
                        return
                    wire += b
                t = time.monotonic()
                q = self._note(t, wire, "tcp")
                if q is None:
                    return
                out = self.zone.answer(q).to_wire()
                self._schedule(t + self.delay, lambda o=out: send(o))
        except OSError:
            return

    def queries(self, since=0):
        with self.loglock:
            return list(self.log[since:])

    def mark(self):
        with self.loglock:
            return len(self.log)

    def close(self):
        with self.cv:
            self.stopping = True
            self.cv.notify()
        for s in (self.udp, self.tcp):
            try:
                s.close()
            except OSError:
                pass


def rounds(times, delay):
    """How many delay-long rounds a sorted list of query arrival times spans: a query that
    arrives before the first answer of the current round came back cannot depend on it and is
    in the same round; the first one after is the start of the next."""
    n, start = 0, None
    for t in sorted(times):
        if start is None or t >= start + delay * 0.9:
            n += 1
            start = t
    return n
