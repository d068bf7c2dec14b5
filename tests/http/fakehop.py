"""A next hop for mailvetd's SMTP front end that accepts everything (a
thread of the test, on 127.0.0.1 and a picked port): EHLO offers XCLIENT,
XCLIENT is answered with a new greeting, each message gets "250 queued as
FAKEn". Only for counting what the front end answered."""
import socket
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 fakehop ESMTP")
        data = False
        for raw in self.rfile:
            line = raw.decode("latin-1").rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    self.server.queued += 1
                    self.reply("250 2.0.0 Ok: queued as FAKE%d" % self.server.queued)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "LHLO"):
                self.wfile.write(b"250-fakehop\r\n250-XCLIENT ADDR NAME HELO PROTO\r\n250 8BITMIME\r\n")
            elif verb == "XCLIENT":
                self.reply("220 fakehop ESMTP")
            elif verb == "DATA":
                data = True
                self.reply("354 go ahead")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class FakeHop(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.queued = 0
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()
