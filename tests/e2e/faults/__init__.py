"""The fault run: the demo's pipeline while LinkedIn misbehaves, a worker is killed and the account is
disconnected, then an audit of what every member received against what revOS recorded.

Faults, in order:
- for the whole run: 5xx on DM sends, invitations and reads, and timeouts after the action on
  `POST /chats*` (the message is sent; the caller only sees a 504);
- the first day: more first DMs fall due than the account's daily DM cap allows. The run's clock stands
  still through the set-up until the post is out (so every comment falls on that day); the day's last
  hour runs at a minute a second and the day does not end until its budget is spent, however slow the
  machine: the cap binds and the leads over it wait for a later day;
- then 429s, on sends and reads, for the rest of the run (the first one at once);
- the first worker is a separate process (`python -m tests.e2e.faults`, on the run's clock): once some
  more DMs are out, a send is held open after LinkedIn recorded it, and the process gets SIGKILL while
  that action is in flight; a second worker starts and recovers the dead one's jobs as stalled;
- later, a send disconnects the account (LinkedIn answers 401 and sends its CREDENTIALS status webhook);
  after a while the account is reconnected through the API with its session cookie.

`audit()` then reads the simulator's records and the database: duplicates, sends revOS does not know
about (or knows about but LinkedIn does not), daily caps, leads held back by a cap that did not go out on
a later day, leads that are not terminal, captured leads the ESP never verified.
"""

from tests.e2e.faults.audit import FaultReport
from tests.e2e.faults.plan import Chaos, FaultPlan
from tests.e2e.faults.run import FaultRun, run_faults

__all__ = ["Chaos", "FaultPlan", "FaultReport", "FaultRun", "run_faults"]
