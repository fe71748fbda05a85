"""SQL for DM sequences and their messages. Runs in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from revos.db import crud
from revos.db.pool import Conn


async def insert_sequence(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, "dm_sequences", values)


async def get(conn: Conn, sequence_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from dm_sequences where id = %s{lock}", (sequence_id,))
    ).fetchone()


async def update(conn: Conn, sequence_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    return await crud.update(conn, "dm_sequences", sequence_id, values)


async def by_lead(conn: Conn, lead_id: UUID) -> dict[str, Any] | None:
    return await (await conn.execute("select * from dm_sequences where lead_id = %s", (lead_id,))).fetchone()


async def context(conn: Conn, sequence_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    """Everything a step needs in one row: sequence, lead, campaign, lead magnet and account columns,
    prefixed so nothing collides. `for update` locks the sequence row only."""
    lock = " for update of s" if for_update else ""
    return await (
        await conn.execute(
            "select s.*, l.first_name as lead_first_name, l.last_name as lead_last_name,"
            " l.linkedin_id as lead_linkedin_id, l.status as lead_status, l.email as lead_email,"
            " l.comment_id as lead_comment_id,"
            " c.name as campaign_name, c.status as campaign_status, c.starts_at as campaign_starts_at,"
            " c.ends_at as campaign_ends_at, c.settings as campaign_settings,"
            " c.dm_template_step1, c.dm_template_step2, c.dm_template_step3,"
            " c.lead_magnet_id, m.name as lead_magnet_name,"
            " a.unipile_account_id, a.status as account_status, a.paused_at as account_paused_at,"
            " a.pause_reason as account_pause_reason, a.profile_data as account_profile,"
            " cm.author_network_distance as comment_distance"
            " from dm_sequences s"
            " join leads l on l.id = s.lead_id"
            " left join comments cm on cm.id = l.comment_id"
            " join campaigns c on c.id = s.campaign_id"
            " left join lead_magnets m on m.id = c.lead_magnet_id"
            " left join linkedin_accounts a on a.id = s.linkedin_account_id"
            f" where s.id = %s{lock}",
            (sequence_id,),
        )
    ).fetchone()


async def by_chat(conn: Conn, chat_id: str) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select * from dm_sequences where unipile_chat_id = %s order by created_at desc limit 1",
            (chat_id,),
        )
    ).fetchone()


async def by_member(conn: Conn, unipile_account_id: str, member_provider_id: str) -> list[dict[str, Any]]:
    """Sequences of this LinkedIn account with this member, newest first (one per campaign)."""
    return await (
        await conn.execute(
            "select s.* from dm_sequences s join leads l on l.id = s.lead_id"
            " join linkedin_accounts a on a.id = s.linkedin_account_id"
            " where a.unipile_account_id = %s and l.linkedin_id = %s"
            " order by (s.status = 'in_progress') desc, s.created_at desc",
            (unipile_account_id, member_provider_id),
        )
    ).fetchall()


async def insert_message(conn: Conn, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a dm_messages row keyed by the provider's message id; None if it was already recorded."""
    cols = list(values)
    placeholders = ", ".join(["%s"] * len(cols))
    query = (
        f"insert into dm_messages ({', '.join(cols)}) values ({placeholders})"
        " on conflict (unipile_message_id) do nothing returning *"
    )
    return await (await conn.execute(query, [values[c] for c in cols])).fetchone()


async def messages(conn: Conn, sequence_id: UUID) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select * from dm_messages where dm_sequence_id = %s order by coalesce(sent_at, created_at), id",
            (sequence_id,),
        )
    ).fetchall()


async def due(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    """In-progress sequences whose next action is due, claimed so two dispatchers split the work."""
    return await (
        await conn.execute(
            "select id, linkedin_account_id from dm_sequences"
            " where status = 'in_progress' and next_action_at <= %s"
            " order by next_action_at limit %s for update skip locked",
            (now, limit),
        )
    ).fetchall()


async def abandon_due(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select id, lead_id from dm_sequences"
            " where status = 'in_progress' and stage = 'awaiting_reply' and abandon_at <= %s"
            " order by abandon_at limit %s for update skip locked",
            (now, limit),
        )
    ).fetchall()


async def awaiting_acceptance(conn: Conn, linkedin_account_id: UUID) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select s.id, l.linkedin_id from dm_sequences s join leads l on l.id = s.lead_id"
            " where s.linkedin_account_id = %s and s.status = 'in_progress'"
            " and s.invitation_sent_at is not null and s.invitation_accepted_at is null",
            (linkedin_account_id,),
        )
    ).fetchall()


async def by_download_token(conn: Conn, sequence_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select s.id, s.lead_id, s.client_id, s.link_clicked, s.status, c.lead_magnet_id"
            " from dm_sequences s join campaigns c on c.id = s.campaign_id where s.id = %s",
            (sequence_id,),
        )
    ).fetchone()


async def mark_clicked(conn: Conn, sequence_id: UUID, at: datetime) -> bool:
    """First click only: True when this call is the one that set link_clicked."""
    cur = await conn.execute(
        "update dm_sequences set link_clicked = true, link_clicked_at = %s"
        " where id = %s and link_clicked is not true",
        (at, sequence_id),
    )
    return cur.rowcount > 0


async def count_download(conn: Conn, lead_magnet_id: UUID) -> None:
    await conn.execute(
        "update lead_magnets set download_count = coalesce(download_count, 0) + 1 where id = %s",
        (lead_magnet_id,),
    )
