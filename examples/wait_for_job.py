"""Wait until a job has finished, then print it as the gateway shows it.

    python3 examples/wait_for_job.py localhost:8000/v1/jobs/<job id> [STATUS ...]

Finished means `succeeded` or `dead_lettered`, or one of the STATUS values
given. The exit status is 0 when the job ends in one of those, and 1 when it
has not after 60 seconds (the last answer is printed) or the gateway refuses.
Only the standard library, so any python3 runs it.
"""

import json
import sys
import time
import urllib.error
import urllib.request

TIMEOUT = 60.0


def main(url: str, statuses: list[str]) -> int:
    url = url if "://" in url else "http://" + url
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                job = json.load(response)
        except urllib.error.HTTPError as error:
            print(f"{error.code} {error.reason}: {error.read().decode(errors='replace')}", file=sys.stderr)
            return 1
        if job["status"] in statuses or time.monotonic() > deadline:
            print(json.dumps(job, indent=2))
            return 0 if job["status"] in statuses else 1
        time.sleep(0.2)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:] or ["succeeded", "dead_lettered"]))
