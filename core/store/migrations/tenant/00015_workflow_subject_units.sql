-- An instance runs for a subject unit: the unit a document is received
-- in, the unit a citizen's message is routed to. Assignees relative to it
-- (its clerk, its leader) are that unit's people, and routing an action
-- to a unit makes it the subject. NULL is the initiator's unit, which an
-- instance started before this column existed ran for.
-- parent_id is the sending instance of one started by distribution (分发):
-- the sender reads its recipients' instances through it (送达回执).
ALTER TABLE workflow_instances ADD COLUMN subject_unit_id BIGINT NULL AFTER initiator_unit_id;
ALTER TABLE workflow_instances ADD COLUMN parent_id BIGINT NULL AFTER subject_unit_id;
ALTER TABLE workflow_instances ADD KEY workflow_instances_parent (parent_id, id);
ALTER TABLE workflow_instances ADD KEY workflow_instances_subject (subject_unit_id, status);
ALTER TABLE workflow_instances ADD CONSTRAINT workflow_instances_subject_fk FOREIGN KEY (subject_unit_id) REFERENCES units (id);
ALTER TABLE workflow_instances ADD CONSTRAINT workflow_instances_parent_fk FOREIGN KEY (parent_id) REFERENCES workflow_instances (id);
