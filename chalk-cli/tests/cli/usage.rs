//! `chalk usage [TENANT]` and `chalk usage export`.

use serde_json::Value;

use crate::common::{Env, fails, json_ok, run};

/// A room with two participants, one of them removed again, in the tenant of `key`.
fn use_some(env: &Env, key: &str) {
    json_ok(
        env.tenant(key)
            .args(["rooms", "create", "--id", "cs101", "--name", "CS101"]),
    );
    let alice =
        json_ok(
            env.tenant(key)
                .args(["participants", "add", "room_cs101", "--name", "Alice"]),
        );
    json_ok(
        env.tenant(key)
            .args(["participants", "add", "room_cs101", "--name", "Bob"]),
    );
    let alice_id = alice["participant"]["id"].as_str().unwrap();
    json_ok(
        env.tenant(key)
            .args(["participants", "remove", "room_cs101", alice_id, "--yes"]),
    );
}

fn sum(rows: &[Value], tenant_id: &str, metric: &str) -> i64 {
    rows.iter()
        .filter(|r| r["tenant_id"] == tenant_id)
        .map(|r| r[metric].as_i64().unwrap())
        .sum()
}

#[test]
fn a_tenants_usage_reads_as_json_and_as_a_table_for_the_operator_and_the_tenant_itself() {
    let env = Env::new();
    let (tenant, key) = env.create_tenant("Metered");
    let (other, _) = env.create_tenant("Other");
    use_some(&env, &key);

    // By default: the current month up to now.
    let usage = json_ok(
        env.master()
            .args(["usage", &tenant, "--granularity", "hour"]),
    );
    let data = usage["data"].as_array().unwrap();
    assert!(!data.is_empty(), "{usage}");
    assert_eq!(usage["totals"]["participants_joined"], 2, "{usage}");
    assert_eq!(usage["totals"]["rooms_created"], 1, "{usage}");
    let joined: i64 = data
        .iter()
        .map(|p| p["participants_joined"].as_i64().unwrap())
        .sum();
    assert_eq!(joined, 2);

    // With its own key a tenant needs no id; another tenant's usage does not exist for it.
    let own = json_ok(env.tenant(&key).args(["usage"]));
    assert_eq!(own["totals"]["participants_joined"], 2, "{own}");
    fails(env.tenant(&key).args(["usage", &other]), 5);
    let none = json_ok(env.master().args(["usage", &other]));
    assert_eq!(none["totals"]["participants_joined"], 0, "{none}");

    let table = run(env.master().args(["-o", "table", "usage", &tenant]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("participant min") && table.stdout.contains("total"),
        "{}",
        table.stdout
    );

    // The operator names the tenant; a bad date is refused before any request; the server
    // refuses too many periods, naming the field.
    let unnamed = fails(env.master().args(["usage"]), 2);
    assert!(unnamed.stderr.contains("TENANT_ID"), "{}", unnamed.stderr);
    fails(env.master().args(["usage", &tenant, "--from", "soon"]), 2);
    let too_many = fails(
        env.master().args([
            "usage",
            &tenant,
            "--granularity",
            "hour",
            "--from",
            "2026-01",
            "--to",
            "2026-03",
        ]),
        7,
    );
    assert!(
        too_many.stderr.contains("from") || too_many.stderr.contains("to"),
        "{}",
        too_many.stderr
    );
}

#[test]
fn the_export_writes_every_tenant_as_csv_or_ndjson() {
    let env = Env::new();
    let (tenant, key) = env.create_tenant("Metered");
    let (other, _) = env.create_tenant("Other");
    use_some(&env, &key);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usage.csv");
    let out = run(env.master().args([
        "usage",
        "export",
        "--format",
        "csv",
        "--from",
        "2026-01-01",
        "-O",
        file.to_str().unwrap(),
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("exported"), "{}", out.stderr);
    let csv = std::fs::read_to_string(&file).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, joined) = (column("tenant_id"), column("participants_joined"));
    let mine: i64 = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|cells| cells[id] == tenant)
        .map(|cells| cells[joined].parse::<i64>().unwrap())
        .sum();
    assert_eq!(mine, 2, "{csv}");
    // Nothing is left beside the file.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let ndjson = run(env.master().args(["usage", "export", "--format", "ndjson"]));
    assert_eq!(ndjson.code, 0, "{}", ndjson.stderr);
    let rows: Vec<Value> = ndjson
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sum(&rows, &tenant, "participants_joined"), 2);
    assert_eq!(sum(&rows, &other, "participants_joined"), 0);

    // Every tenant's usage is the operator's to read.
    fails(env.tenant(&key).args(["usage", "export"]), 4);
}
