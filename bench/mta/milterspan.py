"""bench/mta/milterspan.py PCAP PORT — per message, from a packet trace of a milter port
(bench/mta/milterspan.sh): the time from the MTA's first packet of the message's end-of-data
phase (its first header: a frame 'L', or the macros of that step, 'D' 'L') to the milter's
last reply, and the packets each side wrote in that phase. That is the milter's share of
the latency Postfix adds at the end of DATA (Postfix's own turnarounds included), without
the SMTP client's noise."""
import statistics
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    link = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        ip = frame[14:] if link == 1 else frame[16:] if link == 113 else frame
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        sport, dport = struct.unpack("!HH", tcp[:4])
        payload = tcp[(tcp[12] >> 4) * 4:]
        tot = struct.unpack("!H", ip[2:4])[0]
        payload = payload[:max(0, tot - ihl - (tcp[12] >> 4) * 4)]
        if payload:
            yield t, sport, dport, payload


def frames(payload):
    """The milter commands in one segment (a frame cut by the segment's end counts)."""
    out, i = [], 0
    while i + 5 <= len(payload):
        n = struct.unpack("!I", payload[i:i + 4])[0]
        out.append(payload[i + 4:i + 6])
        i += 4 + max(n, 1)
    return out


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    conns = {}
    for t, sport, dport, payload in packets(path):
        mta = dport == port
        conns.setdefault(sport if mta else dport, []).append((t, mta, payload))
    spans, mta_n, our_n = [], [], []
    for pkts in conns.values():
        start = last = None
        eom = False
        nm = no = 0
        for t, mta, payload in pkts + [(None, True, b"")]:
            if mta and eom:   # the MTA speaks again: the message's phase is over
                if last is not None:
                    spans.append((last - start) * 1000)
                    mta_n.append(nm)
                    our_n.append(no)
                start, last, eom = None, None, False
            if t is None:
                break
            cmds = frames(payload) if mta else []
            if mta and start is None and any(c[:1] == b"L" or c == b"DL" for c in cmds):
                start, nm, no = t, 0, 0
            if start is None:
                continue
            if mta:
                nm += 1
                eom = any(c[:1] == b"E" for c in cmds)
            else:
                no += 1
                if eom:
                    last = t
    if not spans:
        print("no messages found")
        sys.exit(1)
    spans.sort()
    print("messages %d; end-of-data phase (first header .. last reply to end of message): "
          "p50 %.2f ms, p90 %.2f ms, mean %.2f ms; MTA packets p50 %d, milter packets p50 %d"
          % (len(spans), statistics.median(spans), spans[int(0.9 * (len(spans) - 1))],
             statistics.mean(spans), statistics.median(mta_n), statistics.median(our_n)))


if __name__ == "__main__":
    main()
