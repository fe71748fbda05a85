-- clients: match agency staff on agency_id instead of revos_agency_client_ids().
--
-- A client being inserted is not in revos_agency_client_ids() yet, and INSERT … RETURNING checks the
-- new row against the select policy as well: staff creating a client with RETURNING were refused.
-- Comparing the row's agency_id with the staff's agency says the same thing for existing rows and
-- also covers the new one (and needs no array at all).

drop policy tenant_select on public.clients;
drop policy tenant_update on public.clients;
drop policy tenant_delete on public.clients;

create policy tenant_select on public.clients for select to authenticated
  using (id = (select auth.jwt() ->> 'client_id')::uuid
         or agency_id = (select public.revos_staff_agency_id()));
create policy tenant_update on public.clients for update to authenticated
  using (agency_id = (select public.revos_staff_agency_id()))
  with check (agency_id = (select public.revos_staff_agency_id()));
create policy tenant_delete on public.clients for delete to authenticated
  using (agency_id = (select public.revos_staff_agency_id()));
