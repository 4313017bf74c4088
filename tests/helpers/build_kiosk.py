"""Make one enrolled kiosk store with N queued responses, in its own process.

Queueing goes through the real ``SessionService`` (start, answer, seal, sign, outbox), which
commits with ``synchronous=FULL`` several times per response; building the kiosks of a test in
parallel processes overlaps those fsyncs.

    python -m tests.helpers.build_kiosk DB_PATH SERVER_URL ENROL_CODE NAME N

prints the device id.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.helpers.sync_harness import build_kiosk

if __name__ == "__main__":
    path, url, code, name, n = sys.argv[1:6]
    kiosk = build_kiosk(Path(path), url, code, name)
    kiosk.queue(int(n))
    kiosk.close()
    print(kiosk.device_id)
