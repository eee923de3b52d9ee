"""BODYSTRUCTURE walking: part numbers, text parts, attachments, RFC 2231 names."""

from __future__ import annotations

from imapclient.response_types import BodyData

from workers.imap.structure import attachments, text_parts, walk

PLAIN = (
    b"text",
    b"plain",
    (b"charset", b"utf-8"),
    None,
    None,
    b"7bit",
    39,
    2,
    None,
    None,
    None,
    None,
)
HTML = (
    b"text",
    b"html",
    (b"charset", b"utf-8"),
    None,
    None,
    b"quoted-printable",
    60,
    1,
    None,
    None,
    None,
    None,
)
PDF = (
    b"application",
    b"pdf",
    None,
    None,
    None,
    b"base64",
    22,
    None,
    (b"attachment", (b"filename*", b"utf-8''Rechnung%20M%C3%A4rz.pdf")),
    None,
    None,
)
LOGO = (
    b"image",
    b"png",
    (b"name", b"logo.png"),
    b"<logo>",
    None,
    b"base64",
    100,
    None,
    (b"inline", (b"filename", b"logo.png")),
    None,
    None,
)


def structure(raw: tuple[object, ...]) -> BodyData:
    return BodyData.create(raw)


def test_parts_of_a_mixed_message_are_numbered_as_imap_does() -> None:
    body = structure(([PLAIN, HTML], b"alternative", (b"boundary", b"a"), None, None, None))
    mixed = structure((body, PDF, b"mixed", (b"boundary", b"b"), None, None, None))
    parts = list(walk(mixed))
    assert [(p.number, p.content_type) for p in parts] == [
        ("1.1", "text/plain"),
        ("1.2", "text/html"),
        ("2", "application/pdf"),
    ]
    assert [p.number for p in text_parts(parts)] == ["1.1"]
    (pdf,) = attachments(parts)
    assert pdf.filename == "Rechnung März.pdf"


def test_a_single_part_message_is_part_one() -> None:
    (part,) = list(walk(structure(PLAIN)))
    assert part.number == "1" and part.charset == "utf-8" and not part.is_attachment


def test_html_is_read_when_there_is_no_plain_text() -> None:
    parts = list(walk(structure((HTML, LOGO, b"related", (b"boundary", b"c"), None, None, None))))
    assert [p.content_type for p in text_parts(parts)] == ["text/html"]
    assert attachments(parts) == []  # an inline logo is decoration, not a file


def test_continued_rfc2231_file_names_are_joined() -> None:
    doc = (
        b"application",
        b"msword",
        None,
        None,
        None,
        b"base64",
        5,
        None,
        (b"attachment", (b"filename*0*", b"utf-8''Sehr%20lange", b"filename*1*", b"%20Datei.doc")),
        None,
        None,
    )
    (part,) = list(walk(structure(doc)))
    assert part.filename == "Sehr lange Datei.doc"


def test_encoded_word_file_names_are_decoded_as_the_sender_wrote_them() -> None:
    doc = (
        b"application",
        b"zip",
        (b"name", b"=?utf-8?q?../../etc/passwd=C3=A4.zip?="),
        None,
        None,
        b"base64",
        5,
        None,
        None,
        None,
        None,
    )
    (part,) = list(walk(structure(doc)))
    # Shown as written; workers.files makes it safe when it is saved.
    assert part.filename == "../../etc/passwdä.zip"


def attached_email(body: tuple[object, ...]) -> tuple[object, ...]:
    """A message/rfc822 part as Dovecot describes it: envelope, then the inner body raw."""
    envelope = (None, b"Inner", None, None, None, None, None, None, None, b"<i@x>")
    return (b"message", b"rfc822", None, None, None, b"7bit", 900, envelope, body, 20, None)


def test_parts_inside_attached_emails_follow_them_numbered_as_imap_does() -> None:
    multipart = (PLAIN, PDF, b"mixed", (b"boundary", b"d"), None, None, None)
    outer = structure(
        (PLAIN, attached_email(multipart), attached_email(PLAIN), b"mixed", (b"boundary", b"e"))
    )
    assert [p.number for p in walk(outer)] == ["1", "2", "3"]  # the message's own parts
    inner = list(walk(outer, into_messages=True))
    assert [(p.number, p.content_type, p.enclosed_in) for p in inner] == [
        ("1", "text/plain", None),
        ("2", "message/rfc822", None),
        ("2.1", "text/plain", "2"),
        ("2.2", "application/pdf", "2"),
        ("3", "message/rfc822", None),
        ("3.1", "text/plain", "3"),  # a single-part body is part 1 of its email
    ]
    assert [p.number for p in attachments(inner)] == ["2", "2.2", "3"]


def test_a_base64_part_s_decoded_size_is_estimated_and_says_so() -> None:
    big = tuple(410_528 if i == 6 else field for i, field in enumerate(PDF))  # 300,000 bytes
    (pdf,) = list(walk(structure(big)))
    assert pdf.size_estimated and abs(pdf.decoded_size - 300_000) < 300
    (plain,) = list(walk(structure(PLAIN)))
    assert not plain.size_estimated and plain.decoded_size == 39


def test_an_attached_email_described_without_an_envelope_is_one_part_and_nothing_more() -> None:
    flat = (b"message", b"global", None, None, None, b"8bit", 900, None)
    flat += ((b"attachment", (b"filename", b"m.eml")), None, None)
    parts = list(walk(structure((PLAIN, flat, b"mixed", (b"boundary", b"f"))), into_messages=True))
    assert [(p.number, p.content_type) for p in parts] == [
        ("1", "text/plain"),
        ("2", "message/global"),
    ]
