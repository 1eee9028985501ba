import socket
from email.parser import BytesParser
from email.policy import default as default_policy

import aiosmtplib
import pytest

from devtools.mail_sink import start_sink

HOST = "127.0.0.1"


@pytest.fixture
def mail_sink(tmp_path):
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    controller = start_sink(tmp_path / "mail", HOST, port)
    yield tmp_path / "mail", port
    controller.stop()


async def test_each_received_mail_becomes_an_eml_file(mail_sink, capsys):
    directory, port = mail_sink
    raw = "From: app@example.org\r\nTo: ada@example.com\r\nSubject: =?utf-8?q?Caf=C3=A9_is_open?=\r\n\r\nCome in.\r\n"

    await aiosmtplib.send(
        raw,
        sender="app@example.org",
        recipients=["ada@example.com", "hidden@example.com"],
        hostname=HOST,
        port=port,
    )

    [eml] = directory.iterdir()
    assert eml.suffix == ".eml"
    message = BytesParser(policy=default_policy).parsebytes(eml.read_bytes())
    assert message["Subject"] == "Café is open"
    assert message["X-Envelope-From"] == "app@example.org"
    assert message["X-Envelope-To"] == "ada@example.com, hidden@example.com"
    assert message.get_content().replace("\r\n", "\n") == "Come in.\n"
    assert f"saved as {eml}" in capsys.readouterr().out


async def test_file_names_sort_in_arrival_order(mail_sink):
    directory, port = mail_sink

    for number in range(3):
        await aiosmtplib.send(
            f"Subject: mail {number}\r\n\r\nbody\r\n",
            sender="app@example.org",
            recipients=["ada@example.com"],
            hostname=HOST,
            port=port,
        )

    subjects = [
        BytesParser(policy=default_policy).parsebytes(path.read_bytes())["Subject"]
        for path in sorted(directory.iterdir())
    ]
    assert subjects == ["mail 0", "mail 1", "mail 2"]
