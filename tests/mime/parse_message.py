#!/usr/bin/env python3
"""An independent MIME parser's view of a message postbridge built.

Usage: parse_message.py MESSAGE [ORIGINAL_FILE...]

Prints the decoded headers, the parser's defects, the text body, and for the
N-th attachment whether its decoded bytes are identical to the N-th
ORIGINAL_FILE. The C++ test compares this report line by line.
"""
import email
import email.policy
import sys


def main():
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    for name in ("From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "MIME-Version"):
        value = msg[name]
        print(f"{name}={'<absent>' if value is None else value}")
    defects = [f"{type(d).__name__}" for part in msg.walk() for d in part.defects]
    print(f"defects={','.join(defects) or 'none'}")
    print(f"content-type={msg.get_content_type()}")
    body = msg.get_body(preferencelist=("plain",))
    print(f"text={body.get_content()!r}" if body is not None else "text=<none>")
    html = msg.get_body(preferencelist=("html",))
    if html is not None:
        print(f"html={html.get_content()!r}")
    originals = sys.argv[2:]
    for i, part in enumerate(msg.iter_attachments()):
        data = part.get_payload(decode=True)
        verdict = "no original"
        if i < len(originals):
            with open(originals[i], "rb") as f:
                verdict = "identical" if f.read() == data else "differs"
        print(f"attachment={part.get_filename()}|{part.get_content_type()}|{len(data)}|{verdict}")


if __name__ == "__main__":
    main()
