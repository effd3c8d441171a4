-- wamd_pace by message id: a held send is cancelled by the id its answer
-- carried, and the start-up sweep of held media files asks whether a row
-- still names one (its file is named after that id).
CREATE INDEX wamd_pace_key ON wamd_pace (instance_id, key_id);
