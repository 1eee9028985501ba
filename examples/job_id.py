"""Print the job id in the gateway's answer to a POST, read from stdin.

    curl ... | python3 examples/job_id.py

Any other answer (an error) is printed to stderr and the exit status is 1,
so a refused request shows why instead of passing on an empty id.
"""

import json
import sys

answer = sys.stdin.read()
try:
    print(json.loads(answer)["job_id"])
except (ValueError, KeyError, TypeError):
    sys.exit(answer.strip() or "no answer from the gateway")
