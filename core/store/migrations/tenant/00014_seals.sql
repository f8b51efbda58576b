-- Units' electronic seals (电子印章): one SM2 key pair each. The private
-- key is kept sealed with SM4-GCM under a key derived from --seal-key and
-- bound to the county and the seal's id, so that a row copied elsewhere
-- opens nowhere. A unit has at most one seal in use (neither superseded
-- nor revoked); a rotated seal is kept, superseded, for the documents it
-- sealed to verify.
CREATE TABLE IF NOT EXISTS seals (
  id BIGINT NOT NULL AUTO_INCREMENT,
  unit_id BIGINT NOT NULL,
  public_key VARBINARY(65) NOT NULL,
  private_key_sealed VARBINARY(128) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  created_by VARCHAR(64) NOT NULL,
  superseded_at DATETIME(6) NULL,
  superseded_by VARCHAR(64) NULL,
  replaced_by BIGINT NULL,
  revoked_at DATETIME(6) NULL,
  revoked_by VARCHAR(64) NULL,
  revoke_reason VARCHAR(200) NULL,
  PRIMARY KEY (id),
  KEY seals_unit (unit_id, id),
  CONSTRAINT seals_unit_fk FOREIGN KEY (unit_id) REFERENCES units (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
