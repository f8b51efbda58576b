-- Public downloads: each URL to a module's file given to a public
-- route's anonymous caller, under the network it was asked from (an IPv4
-- address, an IPv6 address's /64), so that an address's downloads of the
-- last hour are counted from its own rows. The audit trail keeps every
-- one too, but counting there read every address's downloads of the
-- hour in the county on each request. Rows older than the hour are
-- pruned as new ones come.
CREATE TABLE IF NOT EXISTS public_downloads (
  id BIGINT NOT NULL AUTO_INCREMENT,
  network VARCHAR(64) NOT NULL,
  given_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY public_downloads_network (network, given_at),
  KEY public_downloads_given (given_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
