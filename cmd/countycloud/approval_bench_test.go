package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/tenants/registry"
)

// benchItems is how many items the catalogue benchmark imports.
const benchItems = 5000

// benchCatalogue is a workbook of n complete items of 发改局 and 住建局, a
// tenth of them joint, with texts of the length a county's catalogue has.
func benchCatalogue(b testing.TB, n int) []byte {
	b.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	header := make([]any, len(approvalHeader))
	for i, h := range approvalHeader {
		header[i] = h
	}
	if err := sw.SetRow("A1", header); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		departments := []string{"发改局", "住建局"}[i%2]
		if i%10 == 0 {
			departments = "发改局:3；住建局:4"
		}
		row := approvalRow(fmt.Sprintf("11360922MB1521004X-%05d", i), fmt.Sprintf("建设工程规划许可证核发（第%d项）", i), departments)
		row[5] = fmt.Sprintf("申请人为在本县行政区域内从事建设活动的法人或者其他组织；项目已取得用地批准文件（编号%d），符合控制性详细规划和规划条件。", i)
		row[7] = "1.申请：申请人通过网上办事大厅提交申请材料；2.受理：窗口审查材料是否齐全；3.审查：承办科室现场踏勘并审查；4.决定：作出准予或不予许可的决定；5.送达：证照邮寄或窗口领取。"
		cells := make([]any, len(row))
		for j, v := range row {
			cells[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, cells); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkACatalogueImport imports a catalogue of 5,000 items into an
// empty catalogue, and writes the same rows with plain batched INSERTs,
// in one run:
//
//   - import: POST /items/import through HTTP and the approval plugin: the
//     workbook read and every row checked, the catalogue and the county's
//     units read, the items written through the host's batched writes
//     (1,000 a transaction, audited), the measure counted;
//   - dry_run: the same request with "dry_run": the import's reading and
//     checking without its writes;
//   - inserts: the records and index rows the import wrote, inserted in
//     one transaction 500 records and 1,000 index rows a statement, as a
//     loader with the rows in hand would.
func BenchmarkACatalogueImport(b *testing.B) {
	db, _, url, env := twoCounties(b, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	const county = "gd.shaoguan.wengyuan"
	opEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": county}
	for _, name := range []string{"发改局", "住建局"} {
		mustCLI(b, opEnv, "org", "units", "create", "--name", name)
	}
	mustCLI(b, opEnv, "plugin", "enable", "approval")
	token := loginAs(b, db, url, env["COUNTYCLOUD_TOKEN"], county)["wyadmin"]
	file := benchCatalogue(b, benchItems)
	b.Logf("a workbook of %d items: %d bytes", benchItems, len(file))
	schema := "`" + registry.SchemaName(db.SchemaPrefix, county) + "`"
	conn := db.Server
	empty := func() {
		for _, table := range []string{"plugin_record_fields", "plugin_records"} {
			if _, err := conn.Exec("DELETE FROM " + schema + "." + table + " WHERE plugin = 'approval'"); err != nil {
				b.Fatal(err)
			}
		}
	}
	importOnce := func() {
		r := call(b, "POST", url+"/v1/tenants/"+county+"/modules/approval/items/import", token, map[string]any{"workbook": file})
		if r.status != 200 || !bytes.Contains(r.body, []byte(fmt.Sprintf(`"created":%d`, benchItems))) {
			b.Fatalf("import: %d %.300s", r.status, r.body)
		}
	}
	// The rows the import writes, for the baseline.
	importOnce()
	var records []struct {
		ID, Document string
		Version      int64
		CreatedAt    string `db:"created_at"`
	}
	if err := conn.Select(&records, "SELECT record_id AS id, document, version, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS created_at FROM "+schema+".plugin_records WHERE plugin = 'approval'"); err != nil {
		b.Fatal(err)
	}
	var fields []struct{ ID, Field, Value string }
	if err := conn.Select(&fields, "SELECT record_id AS id, field, value FROM "+schema+".plugin_record_fields WHERE plugin = 'approval'"); err != nil {
		b.Fatal(err)
	}
	if len(records) != benchItems {
		b.Fatalf("%d records", len(records))
	}

	b.Run("import", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			empty()
			b.StartTimer()
			importOnce()
		}
	})
	b.Run("dry_run", func(b *testing.B) {
		b.StopTimer()
		empty()
		b.StartTimer()
		for range b.N {
			r := call(b, "POST", url+"/v1/tenants/"+county+"/modules/approval/items/import", token, map[string]any{"workbook": file, "dry_run": true})
			if r.status != 200 || !bytes.Contains(r.body, []byte(fmt.Sprintf(`"created":%d`, benchItems))) {
				b.Fatalf("dry run: %d %.300s", r.status, r.body)
			}
		}
	})
	b.Run("inserts", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			empty()
			b.StartTimer()
			tx, err := conn.Beginx()
			if err != nil {
				b.Fatal(err)
			}
			for rows := records; len(rows) > 0; {
				chunk := rows[:min(len(rows), 500)]
				rows = rows[len(chunk):]
				args := make([]any, 0, 7*len(chunk))
				for _, r := range chunk {
					args = append(args, "approval", "items", r.ID, r.Version, r.Document, r.CreatedAt, r.CreatedAt)
				}
				if _, err := tx.Exec("INSERT INTO "+schema+".plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"+
					strings.Repeat(", (?, ?, ?, ?, ?, ?, ?)", len(chunk)-1), args...); err != nil {
					b.Fatal(err)
				}
			}
			for rows := fields; len(rows) > 0; {
				chunk := rows[:min(len(rows), 1000)]
				rows = rows[len(chunk):]
				args := make([]any, 0, 5*len(chunk))
				for _, r := range chunk {
					args = append(args, "approval", "items", r.ID, r.Field, r.Value)
				}
				if _, err := tx.Exec("INSERT INTO "+schema+".plugin_record_fields (plugin, collection, record_id, field, value) VALUES (?, ?, ?, ?, ?)"+
					strings.Repeat(", (?, ?, ?, ?, ?)", len(chunk)-1), args...); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
