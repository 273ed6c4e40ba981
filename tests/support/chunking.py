"""A small SMTP server that offers PIPELINING and CHUNKING (aiosmtpd offers neither).

Postfix offers both, and :class:`~syndication.edges.transport.SmtpTransport` then sends
each message as one pipelined MAIL, RCPT, BDAT LAST group. This server speaks just enough
SMTP for that (and DATA, for the fallback), one connection at a time in a thread, and
answers per recipient as told: ``replies[(command, address)]`` is the reply line to send
instead of the usual one (``command`` is ``"MAIL"``, ``"RCPT"``, ``"BDAT"`` or ``"DATA"``;
for MAIL the address is the sender, for the others the recipient); an
address in ``hang_up`` makes the server close the connection on that message's BDAT
without answering it.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    sender: str
    recipient: str
    data: bytes
    command: str  # "BDAT" or "DATA"
    mail_line: str


@dataclass
class ChunkingServer:
    host: str = "127.0.0.1"
    port: int = 0
    chunking: bool = True
    replies: dict[tuple[str, str], str] = field(default_factory=dict)
    hang_up: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.create_server((self.host, self.port))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone does not.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                try:
                    _Session(self, conn).run()
                except (OSError, _HangUp):
                    pass


class _HangUp(Exception):
    pass


class _Session:
    def __init__(self, server: ChunkingServer, conn: socket.socket) -> None:
        self.server = server
        self.conn = conn
        self.buffer = b""
        self.sender = ""
        self.mail_line = ""
        self.recipient = ""
        self.failed = ""  # the reply that refused this transaction, if any

    def line(self) -> str:
        while b"\r\n" not in self.buffer:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise _HangUp
            self.buffer += chunk
        text, self.buffer = self.buffer.split(b"\r\n", 1)
        return text.decode("ascii")

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise _HangUp
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def reply(self, text: str) -> None:
        self.conn.sendall(text.encode("ascii") + b"\r\n")
        if text.startswith("421"):
            raise _HangUp

    def run(self) -> None:
        server = self.server
        self.reply("220 chunking.test ESMTP")
        while True:
            command = self.line()
            server.commands.append(command)
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                extensions = ["PIPELINING", "SIZE 10240000", "8BITMIME"]
                if server.chunking:
                    extensions.append("CHUNKING")
                self.reply("\r\n".join(f"250-{e}" for e in ["chunking.test", *extensions[:-1]]))
                self.reply(f"250 {extensions[-1]}")
            elif verb == "MAIL":
                self.sender = command.partition("<")[2].partition(">")[0]
                self.mail_line = command
                scripted = server.replies.get(("MAIL", self.sender))
                self.failed = scripted or ""
                self.reply(scripted or "250 2.1.0 Ok")
            elif verb == "RCPT":
                self.recipient = command.partition("<")[2].partition(">")[0]
                scripted = server.replies.get(("RCPT", self.recipient))
                if scripted and not self.failed:
                    self.failed = scripted
                self.reply(scripted or ("503 5.5.1 need MAIL" if self.failed else "250 2.1.5 Ok"))
            elif verb == "BDAT":
                size = int(command.split()[1])
                data = self.exactly(size)  # read (and drop) even when refused: RFC 3030
                self.finish(data, "BDAT")
            elif verb == "DATA":
                if self.failed:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                self.reply("354 go ahead")
                lines = []
                while (text := self.line()) != ".":
                    lines.append(text[1:] if text.startswith(".") else text)
                self.finish("".join(f"{t}\r\n" for t in lines).encode("ascii"), "DATA")
            elif verb == "RSET":
                self.failed = self.sender = self.recipient = ""
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")

    def finish(self, data: bytes, command: str) -> None:
        server = self.server
        if self.recipient in server.hang_up:
            raise _HangUp
        if self.failed:
            self.reply("554 5.5.1 no valid recipients")
        elif scripted := server.replies.get((command, self.recipient)):
            self.reply(scripted)
        else:
            server.messages.append(
                Received(self.sender, self.recipient, data, command, self.mail_line)
            )
            self.reply("250 2.0.0 Ok: queued")
        self.failed = self.sender = self.recipient = ""
