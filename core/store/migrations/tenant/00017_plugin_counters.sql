-- Plugin counters: the numbers the host gives a plugin's records as it
-- writes them (a document's 文号, per unit and year), one row per counter
-- in the plugin's namespace. value is the last number given; the host
-- raises it in the transaction that writes the numbered record, so that a
-- write that fails or never commits takes none and no number is given
-- twice.
CREATE TABLE IF NOT EXISTS plugin_counters (
  plugin VARCHAR(32) NOT NULL,
  counter VARCHAR(128) NOT NULL,
  value BIGINT NOT NULL,
  PRIMARY KEY (plugin, counter)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
