package host

import (
	"context"
	"fmt"
)

// VendorKnown reports whether vendor owns a plugin id of the catalog
// (auth.Vendors): only such a vendor is issued a token.
func (m *MySQLRepository) VendorKnown(ctx context.Context, vendor string) (bool, error) {
	var n int
	if err := m.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM plugin_namespaces WHERE owner = ? AND vendor = ?", OwnerPlugin, vendor); err != nil {
		return false, fmt.Errorf("look up vendor %q: %w", vendor, err)
	}
	return n > 0, nil
}

// ModuleVendor is the vendor owning plugin id, "" if no plugin owns it.
func (m *MySQLRepository) ModuleVendor(ctx context.Context, id string) (string, error) {
	var vendors []string
	if err := m.db.SelectContext(ctx, &vendors, "SELECT COALESCE(vendor, '') FROM plugin_namespaces WHERE name = ? AND owner = ?", id, OwnerPlugin); err != nil {
		return "", fmt.Errorf("read the vendor of %s: %w", id, err)
	}
	if len(vendors) == 0 {
		return "", nil
	}
	return vendors[0], nil
}

// ModuleEnabled reports whether county has plugin id enabled now.
func (m *MySQLRepository) ModuleEnabled(ctx context.Context, county, id string) (bool, error) {
	var n int
	if err := m.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM tenant_modules WHERE tenant_code = ? AND plugin_id = ? AND enabled", county, id); err != nil {
		return false, fmt.Errorf("read module %s of %s: %w", id, county, err)
	}
	return n > 0, nil
}

// VendorModules are, by county, the plugins of vendor that each county
// ever enabled: the counties where the vendor has feedback to answer.
// A module disabled since keeps its county listed, for its feedback
// stays the vendor's.
func (m *MySQLRepository) VendorModules(ctx context.Context, vendor string) (map[string][]string, error) {
	var rows []struct {
		County string `db:"tenant_code"`
		Plugin string `db:"plugin_id"`
	}
	err := m.db.SelectContext(ctx, &rows, `SELECT t.tenant_code, t.plugin_id FROM tenant_modules t
JOIN plugin_namespaces n ON n.name = t.plugin_id COLLATE utf8mb4_bin AND n.owner = ? WHERE n.vendor = ? ORDER BY t.tenant_code, t.plugin_id`, OwnerPlugin, vendor)
	if err != nil {
		return nil, fmt.Errorf("list the modules of vendor %q: %w", vendor, err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.County] = append(out[r.County], r.Plugin)
	}
	return out, nil
}
