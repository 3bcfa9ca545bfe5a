-- The outage an incident belongs to (Incident.outageId): every incident of one cause carries the
-- same id (a dependency's certificate and the services it took down), so they page once. Rows
-- written before this column read as '' (an incident of its own: group them by their id).

ALTER TABLE incidents ADD COLUMN IF NOT EXISTS outage_id String DEFAULT '';
