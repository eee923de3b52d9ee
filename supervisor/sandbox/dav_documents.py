"""What the sandbox's CalDAV and CardDAV servers are started and provisioned with: Radicale's
configuration and rights, and the WebDAV request bodies that make each user's collections."""

from __future__ import annotations

CALENDAR_NAME = "Calendar"
ADDRESS_BOOK_NAME = "Contacts"
GLOBAL_BOOK_NAME = "Global address book"
STARTUP_TIMEOUT = 30.0
LOG_TAIL_LINES = 40

RADICALE_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
ssl = True
certificate = {cert}
key = {key}

[auth]
type = htpasswd
htpasswd_filename = {htpasswd}
htpasswd_encryption = plain
# A wrong password is answered at once, not after the default second.
delay = 0

[rights]
type = from_file
file = {rights}

[storage]
filesystem_folder = {root}/collections

[web]
type = none

[logging]
level = info
"""

# owner_only's rights, except that each user's "global" address book and "shared" calendar
# (one shared with them, as a colleague's team calendar) are theirs to read only.
RADICALE_RIGHTS = """\
[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[global]
user: .+
collection: {user}/global
permissions: r

[shared]
user: .+
collection: {user}/shared
permissions: r

[own]
user: .+
collection: {user}/[^/]+
permissions: rw
"""

MKADDRESSBOOK = f"""\
<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
  <D:set>
    <D:prop>
      <D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
      <D:displayname>{ADDRESS_BOOK_NAME}</D:displayname>
    </D:prop>
  </D:set>
</D:mkcol>
"""

MKCALENDAR = f"""\
<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set>
    <D:prop>
      <D:displayname>{CALENDAR_NAME}</D:displayname>
      <C:supported-calendar-component-set>
        <C:comp name="VEVENT"/>
        <C:comp name="VTODO"/>
      </C:supported-calendar-component-set>
    </D:prop>
  </D:set>
</C:mkcalendar>
"""

SET_DISPLAYNAME = """\
<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:">
  <D:set>
    <D:prop>
      <D:displayname>{name}</D:displayname>
    </D:prop>
  </D:set>
</D:propertyupdate>
"""
