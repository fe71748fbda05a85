"""The lead's life, in one place: the only code that writes a lead's status, its DM sequence's stage
and its timeline.

    comment_detected ─▶ dm_sent ─▶ dm_replied ─▶ email_captured ─▶ webhook_sent ─▶ backup_sent ─▶ completed
                                                                              (or failed, from anywhere)

Other domains report what happened and this package decides what it means for the lead:

- `entry`        a trigger comment makes a lead and its sequence (comment polling calls it);
- `outbound`     the DM executor (revos.dms) reports each step's outcome: sent, refused, waiting, uncertain;
- `conversation` inbound messages: an accepted invitation, a reply, the email in it, the review of it;
- `handover`     the confirmed lead goes to the client's webhook; the download link is opened;
- `base`         scheduling the next step, ending a sequence, the abandonment sweep;
- `timeline`     the kinds of timeline events and the one function that appends them.

Every function runs in the caller's transaction and never commits. Follow-ups in other domains are
published as events (revos.events): a step that becomes due wakes the account's DM run, a captured lead is
delivered, a click is reported.
"""
