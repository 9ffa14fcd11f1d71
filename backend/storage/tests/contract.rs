//! One contract suite for the repositories, run against SQLite and (when reachable) PostgreSQL:
//! every case below becomes `sqlite::<case>` and `postgres::<case>`.
// Test code: a failed setup step should abort the test loudly, helpers included.
#![allow(clippy::unwrap_used)]

mod harness;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use serde_json::json;
use suture_domain::ids::{
    AntibodyId, RepairId, RunId, StepId, TenantId, TokenId, UserId, WorkflowId,
};
use suture_domain::status::{Role, RunStatus};
use suture_storage::entities::{antibodies, repairs, steps};
use suture_storage::{
    Db, NewRun, NewVersion, NewWorkflow, RepairFilter, RunCursor, RunFilter, StorageError,
    constraints, migrate, now,
};

macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let t = crate::harness::sqlite().await;
                    crate::$case(&t.db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(t) = crate::harness::postgres().await else { return };
                    crate::$case(&t.db).await;
                }
            )+
        }
    };
}

contract!(
    migrations_run_twice,
    tenant_isolation,
    unique_conflicts_map_to_conflict,
    workflow_versions_and_soft_delete,
    claim_is_exclusive,
    claim_protocol_guards,
    runs_keyset_pagination,
    step_insert_is_idempotent,
    tokens_sessions_and_memberships,
    repairs_and_antibodies,
    deliveries_find_and_purge,
    resume_approval_and_filters,
);

fn tid(m: &suture_storage::entities::tenants::Model) -> TenantId {
    TenantId::from_uuid(m.id)
}

async fn tenant(db: &Db, name: &str) -> TenantId {
    tid(&db.tenants().create(name).await.unwrap())
}

async fn workflow(db: &Db, tenant: TenantId, name: &str) -> WorkflowId {
    let (wf, _) = db
        .workflows()
        .create(
            tenant,
            NewWorkflow {
                name,
                definition: json!({"do": []}),
                source: "do: []",
                source_format: "yaml",
                hook_id: &format!("hook_{}", uuid::Uuid::new_v4().simple()),
                webhook_secret: None,
            },
        )
        .await
        .unwrap();
    WorkflowId::from_uuid(wf.id)
}

async fn queued_run(db: &Db, tenant: TenantId, wf: WorkflowId) -> RunId {
    let run = db
        .runs()
        .create(tenant, NewRun::queued(wf, 1, json!({"n": 1}), "api"))
        .await
        .unwrap();
    RunId::from_uuid(run.id)
}

fn step(tenant: TenantId, run: RunId, position: i32, name: &str) -> steps::Model {
    steps::Model {
        id: StepId::new().as_uuid(),
        tenant_id: tenant.as_uuid(),
        run_id: run.as_uuid(),
        position,
        name: name.into(),
        status: "succeeded".into(),
        input: Some(json!({})),
        output: Some(json!({"name": name})),
        error: None,
        context: Some(json!({"after": name})),
        attempts: json!([]),
        repair_ids: json!([]),
        started_at: now(),
        finished_at: Some(now()),
        duration_ms: 3,
    }
}

fn repair(tenant: TenantId, run: RunId, wf: WorkflowId, outcome: &str) -> repairs::Model {
    repairs::Model {
        id: RepairId::new().as_uuid(),
        tenant_id: tenant.as_uuid(),
        run_id: run.as_uuid(),
        step_id: None,
        workflow_id: wf.as_uuid(),
        task_name: "fetch".into(),
        tool: "api.example.com".into(),
        operation: "GET /items".into(),
        failure_class: "contract".into(),
        fingerprint: "fp1".into(),
        failure: json!({"violations": ["name missing"]}),
        diagnosis: "field renamed".into(),
        generator: "heuristic.rename".into(),
        patch_source: "return x".into(),
        sandbox_log: json!([]),
        verdict: json!({"ok": true}),
        outcome: outcome.into(),
        antibody_id: None,
        reused: false,
        duration_ms: 12,
        approved_by: None,
        created_at: now(),
    }
}

fn assert_conflict<T: std::fmt::Debug>(res: Result<T, StorageError>, constraint: &str) {
    match res {
        Err(StorageError::Conflict { constraint: c }) => assert_eq!(c, constraint),
        other => panic!("expected Conflict({constraint}), got {other:?}"),
    }
}

async fn migrations_run_twice(db: &Db) {
    // The harness already migrated once.
    migrate(db).await.unwrap();
    migrate(db).await.unwrap();
    let applied = db
        .conn
        .query_one_raw(sea_orm::Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = applied.try_get("", "n").unwrap();
    assert_eq!(n, 4);
    let t = tenant(db, "after-migrations").await;
    assert!(db.tenants().find(t).await.unwrap().is_some());
}

async fn tenant_isolation(db: &Db) {
    let a = tenant(db, "a").await;
    let b = tenant(db, "b").await;
    let wf = workflow(db, a, "orders").await;
    let run = queued_run(db, a, wf).await;
    let rep = db
        .repairs()
        .insert(repair(a, run, wf, "accepted"))
        .await
        .unwrap();
    let rep_id = RepairId::from_uuid(rep.id);
    db.steps()
        .insert_finished(step(a, run, 0, "fetch"))
        .await
        .unwrap();

    // Controls: tenant A sees everything.
    assert!(db.workflows().find(a, wf).await.unwrap().is_some());
    assert!(db.runs().find(a, run).await.unwrap().is_some());
    assert!(db.repairs().find(a, rep_id).await.unwrap().is_some());
    assert_eq!(
        db.runs()
            .list(a, &RunFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );

    // Tenant B sees nothing of A's and cannot change it.
    assert!(db.workflows().find(b, wf).await.unwrap().is_none());
    assert!(db.workflows().list(b).await.unwrap().is_empty());
    assert!(db.workflows().version(b, wf, 1).await.unwrap().is_none());
    assert!(db.workflows().versions(b, wf).await.unwrap().is_empty());
    assert!(db.runs().find(b, run).await.unwrap().is_none());
    assert!(
        db.runs()
            .list(b, &RunFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    let filtered = RunFilter {
        workflow: Some(wf),
        ..RunFilter::default()
    };
    assert!(db.runs().list(b, &filtered).await.unwrap().is_empty());
    assert!(
        db.runs()
            .count_by_status(b, now() - TimeDelta::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.repairs().find(b, rep_id).await.unwrap().is_none());
    assert!(
        db.repairs()
            .list(b, &RepairFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.repairs().list_for_run(b, run).await.unwrap().is_empty());
    assert!(db.steps().list_for_run(b, run).await.unwrap().is_empty());

    assert!(
        !db.runs()
            .set_status(b, run, &[RunStatus::Queued], RunStatus::Cancelled)
            .await
            .unwrap()
    );
    assert!(!db.workflows().soft_delete(b, wf).await.unwrap());
    assert!(
        !db.workflows()
            .set_webhook_secret(b, wf, Some("whsec_x"))
            .await
            .unwrap()
    );
    assert!(
        !db.repairs()
            .set_outcome(b, rep_id, "rejected", None)
            .await
            .unwrap()
    );
    let bumped = db
        .workflows()
        .add_version(
            b,
            wf,
            NewVersion {
                definition: json!({}),
                source: "",
                source_format: "yaml",
            },
        )
        .await;
    assert!(matches!(bumped, Err(StorageError::NotFound)), "{bumped:?}");

    // And A's rows are untouched by B's attempts.
    let still = db.runs().find(a, run).await.unwrap().unwrap();
    assert_eq!(still.status, "queued");
    assert_eq!(
        db.workflows()
            .find(a, wf)
            .await
            .unwrap()
            .unwrap()
            .current_version,
        1
    );
}

async fn unique_conflicts_map_to_conflict(db: &Db) {
    let a = tenant(db, "acme").await;
    assert_conflict(db.tenants().create("acme").await, constraints::TENANT_NAME);

    db.users().create("Ann@Example.com", "h").await.unwrap();
    assert_conflict(
        db.users().create("ann@example.COM ", "h").await,
        constraints::USER_EMAIL,
    );

    let wf = workflow(db, a, "orders").await;
    let run = queued_run(db, a, wf).await;
    db.deliveries().record(a, wf, "d-1", run).await.unwrap();
    assert_conflict(
        db.deliveries().record(a, wf, "d-1", run).await,
        constraints::DELIVERY_ID,
    );
    // Same delivery id on another workflow is fine.
    let other = workflow(db, a, "other").await;
    db.deliveries().record(a, other, "d-1", run).await.unwrap();

    let dup_name = db
        .workflows()
        .create(
            a,
            NewWorkflow {
                name: "orders",
                definition: json!({}),
                source: "",
                source_format: "yaml",
                hook_id: "fresh-hook",
                webhook_secret: None,
            },
        )
        .await;
    assert_conflict(dup_name, constraints::WORKFLOW_NAME);

    let taken_hook = db.workflows().find(a, wf).await.unwrap().unwrap().hook_id;
    let dup_hook = db
        .workflows()
        .create(
            a,
            NewWorkflow {
                name: "third",
                definition: json!({}),
                source: "",
                source_format: "yaml",
                hook_id: &taken_hook,
                webhook_secret: None,
            },
        )
        .await;
    assert_conflict(dup_hook, constraints::WORKFLOW_HOOK_ID);
    // The failed transaction left nothing behind.
    assert!(
        db.workflows()
            .find_by_name(a, "third")
            .await
            .unwrap()
            .is_none()
    );

    let user = UserId::from_uuid(
        db.users()
            .find_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
    );
    db.users()
        .add_membership(a, user, Role::Owner)
        .await
        .unwrap();
    assert_conflict(
        db.users().add_membership(a, user, Role::Viewer).await,
        constraints::MEMBERSHIP,
    );

    // The pool is still healthy after the errors.
    assert!(db.tenants().find_by_name("acme").await.unwrap().is_some());
}

async fn workflow_versions_and_soft_delete(db: &Db) {
    let a = tenant(db, "a").await;
    let wf = workflow(db, a, "orders").await;
    for n in 2..=3 {
        let v = db
            .workflows()
            .add_version(
                a,
                wf,
                NewVersion {
                    definition: json!({"v": n}),
                    source: "src",
                    source_format: "json",
                },
            )
            .await
            .unwrap();
        assert_eq!(v.version, n);
    }
    let current = db.workflows().find(a, wf).await.unwrap().unwrap();
    assert_eq!(current.current_version, 3);
    let v2 = db.workflows().version(a, wf, 2).await.unwrap().unwrap();
    assert_eq!(v2.definition, json!({"v": 2}));
    let all: Vec<i32> = db
        .workflows()
        .versions(a, wf)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(all, vec![3, 2, 1]);

    assert!(
        db.workflows()
            .find_by_hook(&current.hook_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db.workflows()
            .set_webhook_secret(a, wf, Some("whsec_1"))
            .await
            .unwrap()
    );
    let with_secret = db.workflows().find(a, wf).await.unwrap().unwrap();
    assert_eq!(with_secret.webhook_secret.as_deref(), Some("whsec_1"));

    assert!(db.workflows().soft_delete(a, wf).await.unwrap());
    assert!(!db.workflows().soft_delete(a, wf).await.unwrap());
    assert!(db.workflows().find(a, wf).await.unwrap().is_none());
    assert!(
        db.workflows()
            .find_by_hook(&current.hook_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.workflows().list(a).await.unwrap().is_empty());
    // The name is free again once the old workflow is deleted.
    let again = workflow(db, a, "orders").await;
    assert_ne!(again, wf);
    // Creating in a tenant that does not exist fails cleanly.
    let ghost = db
        .workflows()
        .create(
            TenantId::new(),
            NewWorkflow {
                name: "x",
                definition: json!({}),
                source: "",
                source_format: "yaml",
                hook_id: "ghost-hook",
                webhook_secret: None,
            },
        )
        .await;
    assert!(matches!(ghost, Err(StorageError::NotFound)), "{ghost:?}");
}

async fn claim_is_exclusive(db: &Db) {
    let a = tenant(db, "a").await;
    let wf = workflow(db, a, "orders").await;
    let stale = now() - TimeDelta::minutes(5);
    for _ in 0..10 {
        let run = queued_run(db, a, wf).await;
        let (d1, d2) = (db.clone(), db.clone());
        let t = now();
        let one = tokio::spawn(async move { d1.runs().claim(run, "w1", t, stale).await.unwrap() });
        let two = tokio::spawn(async move { d2.runs().claim(run, "w2", t, stale).await.unwrap() });
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        assert!(one ^ two, "exactly one claim must win: {one} {two}");
        let claimed = db.runs().find(a, run).await.unwrap().unwrap();
        assert_eq!(claimed.status, "running");
        assert_eq!(
            claimed.claimed_by.as_deref(),
            Some(if one { "w1" } else { "w2" })
        );
        assert!(claimed.started_at.is_some());
    }
}

async fn claim_protocol_guards(db: &Db) {
    let a = tenant(db, "a").await;
    let wf = workflow(db, a, "orders").await;
    let runs = db.runs();
    let t0 = now();
    let long_ago = t0 - TimeDelta::hours(1);

    // Not yet due.
    let mut later = NewRun::queued(wf, 1, json!({}), "schedule");
    later.not_before = Some(t0 + TimeDelta::minutes(10));
    let later_id = later.id;
    runs.create(a, later).await.unwrap();
    assert!(!runs.claim(later_id, "w1", t0, long_ago).await.unwrap());
    assert!(runs.list_due(t0, 10).await.unwrap().is_empty());
    assert_eq!(
        runs.list_due(t0 + TimeDelta::minutes(11), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        runs.claim(later_id, "w1", t0 + TimeDelta::minutes(11), long_ago)
            .await
            .unwrap()
    );

    // A live claim is not stolen; a stale one is.
    let run = queued_run(db, a, wf).await;
    assert!(runs.claim(run, "w1", t0, long_ago).await.unwrap());
    assert!(!runs.claim(run, "w2", t0, long_ago).await.unwrap());
    assert!(runs.heartbeat(run, "w1").await.unwrap());
    assert!(!runs.heartbeat(run, "w2").await.unwrap());
    assert!(runs.claimed(run, "w1").await.unwrap().is_some());
    assert!(runs.claimed(run, "w2").await.unwrap().is_none());
    let future = now() + TimeDelta::minutes(1);
    // The first run's heartbeat is its claim time, t0 + 11 min.
    assert_eq!(runs.list_stale_running(future).await.unwrap().len(), 1);
    assert_eq!(
        runs.list_stale_running(t0 + TimeDelta::minutes(20))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(runs.list_stale_running(long_ago).await.unwrap().is_empty());
    assert!(runs.claim(run, "w2", future, future).await.unwrap());

    // The old owner can no longer heartbeat, requeue or finish.
    assert!(!runs.heartbeat(run, "w1").await.unwrap());
    assert!(!runs.requeue(run, "w1", None).await.unwrap());
    assert!(
        !runs
            .finish(run, "w1", RunStatus::Succeeded, None, None, false)
            .await
            .unwrap()
    );

    // The new owner gives it back with a due time, claims it again and finishes it.
    let due = future + TimeDelta::seconds(30);
    assert!(runs.requeue(run, "w2", Some(due)).await.unwrap());
    let queued = runs.find(a, run).await.unwrap().unwrap();
    assert_eq!(queued.status, "queued");
    assert_eq!(queued.claimed_by, None);
    assert_eq!(queued.not_before, Some(due));
    assert!(!runs.claim(run, "w3", future, long_ago).await.unwrap());
    assert!(runs.claim(run, "w3", due, long_ago).await.unwrap());
    assert!(
        runs.finish(
            run,
            "w3",
            RunStatus::Healed,
            Some(json!({"ok": 1})),
            None,
            true
        )
        .await
        .unwrap()
    );
    let done = runs.find(a, run).await.unwrap().unwrap();
    assert_eq!(done.status, "healed");
    assert!(done.healed);
    assert_eq!(done.output, Some(json!({"ok": 1})));
    assert!(done.finished_at.is_some());
    assert!(
        !runs
            .finish(run, "w3", RunStatus::Failed, None, None, false)
            .await
            .unwrap()
    );

    // Cancellation through set_status only from the listed states.
    let other = queued_run(db, a, wf).await;
    assert!(
        !runs
            .set_status(a, other, &[RunStatus::Running], RunStatus::Cancelled)
            .await
            .unwrap()
    );
    assert!(
        runs.set_status(
            a,
            other,
            &[RunStatus::Queued, RunStatus::Running],
            RunStatus::Cancelled
        )
        .await
        .unwrap()
    );
    let cancelled = runs.find(a, other).await.unwrap().unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert!(cancelled.finished_at.is_some());

    let counts = runs.count_by_status(a, long_ago).await.unwrap();
    assert_eq!(
        counts,
        vec![
            ("cancelled".to_owned(), 1),
            ("healed".to_owned(), 1),
            ("running".to_owned(), 1)
        ]
    );
}

async fn runs_keyset_pagination(db: &Db) {
    let a = tenant(db, "a").await;
    let wf = workflow(db, a, "orders").await;
    let other_wf = workflow(db, a, "other").await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(queued_run(db, a, wf).await);
    }
    queued_run(db, a, other_wf).await;
    // Force ties on created_at so the id tie-breaker is exercised.
    let tie: DateTime<Utc> = now();
    for id in &ids[2..5] {
        let mut run = db
            .runs()
            .find(a, *id)
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        run.created_at = Set(tie);
        run.update(&db.conn).await.unwrap();
    }

    let everything = RunFilter {
        workflow: Some(wf),
        limit: 100,
        ..RunFilter::default()
    };
    let full: Vec<RunId> = db
        .runs()
        .list(a, &everything)
        .await
        .unwrap()
        .iter()
        .map(|r| RunId::from_uuid(r.id))
        .collect();
    assert_eq!(full.len(), 7);
    let mut pages = Vec::new();
    let mut cursor: Option<RunCursor> = None;
    loop {
        let filter = RunFilter {
            workflow: Some(wf),
            limit: 3,
            cursor,
            ..RunFilter::default()
        };
        let page = db.runs().list(a, &filter).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        cursor = page.last().map(RunCursor::from);
        pages.extend(page.iter().map(|r| RunId::from_uuid(r.id)));
    }
    assert_eq!(
        pages, full,
        "pages must concatenate to the full newest-first listing"
    );
    let check: Vec<(DateTime<Utc>, RunId)> = {
        let rows = db.runs().list(a, &everything).await.unwrap();
        rows.iter()
            .map(|r| (r.created_at, RunId::from_uuid(r.id)))
            .collect()
    };
    assert!(
        check.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first: {check:?}"
    );

    let all = db.runs().list(a, &RunFilter::default()).await.unwrap();
    assert_eq!(all.len(), 8);
    let queued = RunFilter {
        status: Some(RunStatus::Queued),
        limit: 2,
        ..RunFilter::default()
    };
    assert_eq!(db.runs().list(a, &queued).await.unwrap().len(), 2);
    let none = RunFilter {
        status: Some(RunStatus::Running),
        ..RunFilter::default()
    };
    assert!(db.runs().list(a, &none).await.unwrap().is_empty());
    let future = RunFilter {
        since: Some(now() + TimeDelta::minutes(1)),
        ..RunFilter::default()
    };
    assert!(db.runs().list(a, &future).await.unwrap().is_empty());
}

async fn step_insert_is_idempotent(db: &Db) {
    let a = tenant(db, "a").await;
    let wf = workflow(db, a, "orders").await;
    let run = queued_run(db, a, wf).await;
    let first = db
        .steps()
        .insert_finished(step(a, run, 0, "fetch"))
        .await
        .unwrap();
    // A second worker re-recording position 0 gets the first row back, unchanged.
    let again = db
        .steps()
        .insert_finished(step(a, run, 0, "fetch-again"))
        .await
        .unwrap();
    assert_eq!(again, first);
    // Re-inserting the very same row is also fine.
    assert_eq!(
        db.steps().insert_finished(first.clone()).await.unwrap(),
        first
    );
    db.steps()
        .insert_finished(step(a, run, 2, "notify"))
        .await
        .unwrap();
    db.steps()
        .insert_finished(step(a, run, 1, "set"))
        .await
        .unwrap();
    let names: Vec<String> = db
        .steps()
        .list_for_run(a, run)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, vec!["fetch", "set", "notify"]);
    // A step of a run that does not exist is refused (foreign keys are on).
    let orphan = db
        .steps()
        .insert_finished(step(a, RunId::new(), 0, "x"))
        .await;
    assert!(matches!(orphan, Err(StorageError::NotFound)), "{orphan:?}");
}

async fn tokens_sessions_and_memberships(db: &Db) {
    let a = tenant(db, "a").await;
    let b = tenant(db, "b").await;
    let user = db.users().create("bob@example.com", "argon").await.unwrap();
    let uid = UserId::from_uuid(user.id);
    db.users()
        .add_membership(a, uid, Role::Admin)
        .await
        .unwrap();
    db.users()
        .add_membership(b, uid, Role::Viewer)
        .await
        .unwrap();
    assert_eq!(
        db.users().membership(a, uid).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(
        db.users().membership(TenantId::new(), uid).await.unwrap(),
        None
    );
    let mine: Vec<(String, Role)> = db
        .tenants()
        .list_for_user(uid)
        .await
        .unwrap()
        .into_iter()
        .map(|(t, r)| (t.name, r))
        .collect();
    assert_eq!(
        mine,
        vec![
            ("a".to_owned(), Role::Admin),
            ("b".to_owned(), Role::Viewer)
        ]
    );
    assert!(db.users().set_role(b, uid, Role::Editor).await.unwrap());
    assert_eq!(db.users().list_members(b).await.unwrap()[0].1, Role::Editor);
    // Foreign keys hold on every pooled connection: concurrent inserts for a missing user fail.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.users()
                .add_membership(a, UserId::new(), Role::Viewer)
                .await
        }));
    }
    for task in tasks {
        let res = task.await.unwrap();
        assert!(matches!(res, Err(StorageError::NotFound)), "{res:?}");
    }

    let token = db
        .tokens()
        .create(
            a,
            "ci",
            "sut_abcdefgh",
            "hash-1",
            json!(["runs:write"]),
            Some(uid),
        )
        .await
        .unwrap();
    let token_id = TokenId::from_uuid(token.id);
    assert_conflict(
        db.tokens()
            .create(b, "dup", "sut_x", "hash-1", json!([]), None)
            .await,
        constraints::TOKEN_HASH,
    );
    let found = db
        .tokens()
        .find_active_by_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.tenant_id, a.as_uuid());
    assert_eq!(found.scopes, json!(["runs:write"]));
    let t0 = now();
    assert!(db.tokens().touch_last_used(token_id, t0).await.unwrap());
    assert!(
        !db.tokens()
            .touch_last_used(token_id, t0 + TimeDelta::seconds(10))
            .await
            .unwrap()
    );
    assert!(
        db.tokens()
            .touch_last_used(token_id, t0 + TimeDelta::seconds(61))
            .await
            .unwrap()
    );
    assert_eq!(db.tokens().list(a).await.unwrap().len(), 1);
    assert!(db.tokens().list(b).await.unwrap().is_empty());
    assert!(!db.tokens().revoke(b, token_id).await.unwrap());
    assert!(db.tokens().revoke(a, token_id).await.unwrap());
    assert!(!db.tokens().revoke(a, token_id).await.unwrap());
    assert!(
        db.tokens()
            .find_active_by_hash("hash-1")
            .await
            .unwrap()
            .is_none()
    );

    let expires = t0 + TimeDelta::hours(1);
    let session = db
        .sessions()
        .create(uid, a, "sess-hash", "csrf", expires)
        .await
        .unwrap();
    assert!(
        db.sessions()
            .find_valid_by_hash("sess-hash", t0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db.sessions()
            .find_valid_by_hash("sess-hash", expires)
            .await
            .unwrap()
            .is_none()
    );
    let sid = suture_domain::ids::SessionId::from_uuid(session.id);
    assert!(db.sessions().set_tenant(sid, b).await.unwrap());
    let switched = db
        .sessions()
        .find_valid_by_hash("sess-hash", t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(switched.tenant_id, b.as_uuid());
    assert!(db.sessions().delete("sess-hash").await.unwrap());
    assert!(
        db.sessions()
            .find_valid_by_hash("sess-hash", t0)
            .await
            .unwrap()
            .is_none()
    );
    db.sessions()
        .create(uid, a, "old", "c", t0 - TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(db.sessions().delete_expired(t0).await.unwrap(), 1);
}

async fn repairs_and_antibodies(db: &Db) {
    let a = tenant(db, "a").await;
    let b = tenant(db, "b").await;
    let wf = workflow(db, a, "orders").await;
    let run = queued_run(db, a, wf).await;
    let r1 = db
        .repairs()
        .insert(repair(a, run, wf, "accepted"))
        .await
        .unwrap();
    let r2 = db
        .repairs()
        .insert(repair(a, run, wf, "pending_approval"))
        .await
        .unwrap();
    let pending = RepairFilter {
        outcome: Some("pending_approval".into()),
        ..RepairFilter::default()
    };
    let listed = db.repairs().list(a, &pending).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![r2.id]);
    let by_run = RepairFilter {
        run: Some(run),
        ..RepairFilter::default()
    };
    assert_eq!(db.repairs().list(a, &by_run).await.unwrap().len(), 2);
    let for_run: Vec<_> = db
        .repairs()
        .list_for_run(a, run)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(for_run, vec![r1.id, r2.id]);
    let approver = UserId::new();
    assert!(
        db.repairs()
            .set_outcome(a, RepairId::from_uuid(r2.id), "approved", Some(approver))
            .await
            .unwrap()
    );
    let approved = db
        .repairs()
        .find(a, RepairId::from_uuid(r2.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.outcome, "approved");
    assert_eq!(approved.approved_by, Some(approver.as_uuid()));

    let ab = antibodies::Model {
        id: AntibodyId::new().as_uuid(),
        tenant_id: a.as_uuid(),
        fingerprint: "fp1".into(),
        tool: "api.example.com".into(),
        operation: "GET /items".into(),
        failure_class: "contract".into(),
        generator: "heuristic.rename".into(),
        patch_source: "return x".into(),
        status: "active".into(),
        uses: 0,
        source_repair_id: r1.id,
        created_at: now(),
        last_used_at: None,
        retired_at: None,
    };
    let ab_id = AntibodyId::from_uuid(ab.id);
    db.antibodies().insert(ab).await.unwrap();
    assert!(
        db.antibodies()
            .find_active(b, "fp1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.antibodies()
            .find_active(a, "fp2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.antibodies()
            .find_active(a, "fp1")
            .await
            .unwrap()
            .unwrap()
            .id,
        ab_id.as_uuid()
    );
    assert!(db.antibodies().record_use(ab_id).await.unwrap());
    assert!(db.antibodies().record_use(ab_id).await.unwrap());
    let used = db.antibodies().find(a, ab_id).await.unwrap().unwrap();
    assert_eq!(used.uses, 2);
    assert!(used.last_used_at.is_some());
    assert!(db.antibodies().list(b).await.unwrap().is_empty());
    assert!(!db.antibodies().retire(b, ab_id).await.unwrap());
    assert!(db.antibodies().retire(a, ab_id).await.unwrap());
    assert!(!db.antibodies().retire(a, ab_id).await.unwrap());
    assert!(
        db.antibodies()
            .find_active(a, "fp1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.antibodies().list(a).await.unwrap()[0].status, "retired");
}

async fn deliveries_find_and_purge(db: &Db) {
    let a = tenant(db, "a").await;
    let wf = workflow(db, a, "orders").await;
    // Delivery and run recorded atomically in one caller transaction.
    let new = NewRun::queued(wf, 1, json!({}), "webhook");
    let run_id = new.id;
    let txn = sea_orm::TransactionTrait::begin(&db.conn).await.unwrap();
    suture_storage::DeliveryRepo::new(&txn)
        .record(a, wf, "evt-1", run_id)
        .await
        .unwrap();
    suture_storage::RunRepo::new(&txn)
        .create(a, new)
        .await
        .unwrap();
    sea_orm::TransactionSession::commit(txn).await.unwrap();

    let t0 = now();
    let seen = db
        .deliveries()
        .find(wf, "evt-1", t0 - TimeDelta::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.run_id, run_id.as_uuid());
    assert!(db.runs().find(a, run_id).await.unwrap().is_some());
    assert!(
        db.deliveries()
            .find(wf, "evt-1", t0 + TimeDelta::seconds(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.deliveries()
            .find(wf, "evt-2", t0 - TimeDelta::hours(1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.deliveries()
            .purge_older_than(t0 - TimeDelta::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.deliveries()
            .purge_older_than(t0 + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert!(
        db.deliveries()
            .find(wf, "evt-1", t0 - TimeDelta::hours(1))
            .await
            .unwrap()
            .is_none()
    );
}

/// SQLite only: the pragmas hold on every pooled connection, not just the first one opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pragmas_apply_to_every_pooled_connection() {
    let t = harness::sqlite().await;
    // As many open transactions as the pool has connections hold all of them at once.
    let mut txns = Vec::new();
    for _ in 0..suture_storage::sqlite_pool_size() {
        txns.push(sea_orm::TransactionTrait::begin(&t.db.conn).await.unwrap());
    }
    for txn in &txns {
        let mut seen = Vec::new();
        for pragma in [
            "journal_mode",
            "synchronous",
            "busy_timeout",
            "foreign_keys",
        ] {
            let row = txn
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    format!("PRAGMA {pragma}"),
                ))
                .await
                .unwrap()
                .unwrap();
            let value: String = row
                .try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap();
            seen.push(value);
        }
        assert_eq!(seen, vec!["wal", "1", "5000", "1"]);
    }
}

async fn resume_approval_and_filters(db: &Db) {
    assert_eq!(db.tenants().count().await.unwrap(), 0);
    let a = tenant(db, "a").await;
    let b = tenant(db, "b").await;
    assert_eq!(db.tenants().count().await.unwrap(), 2);
    let wf = workflow(db, a, "orders").await;
    let runs = db.runs();
    let t0 = now();
    let long_ago = t0 - TimeDelta::hours(1);

    // A failed run resumes once, with a new attempt group and no error; other tenants cannot.
    let run = queued_run(db, a, wf).await;
    assert!(runs.claim(run, "w1", t0, long_ago).await.unwrap());
    assert!(
        runs.finish(
            run,
            "w1",
            RunStatus::Failed,
            None,
            Some(json!({"title": "boom"})),
            false
        )
        .await
        .unwrap()
    );
    assert!(
        !runs.resume(b, run).await.unwrap(),
        "tenant B cannot resume A's run"
    );
    assert!(runs.resume(a, run).await.unwrap());
    let resumed = runs.find(a, run).await.unwrap().unwrap();
    assert_eq!(resumed.status, "queued");
    assert_eq!(resumed.attempt_group, 1);
    assert!(
        resumed.error.is_none() && resumed.finished_at.is_none() && resumed.claimed_by.is_none()
    );
    assert!(
        !runs.resume(a, run).await.unwrap(),
        "a queued run is not resumable"
    );

    // A parked run fails with the reason; a running one is left alone.
    assert!(runs.claim(run, "w2", now(), long_ago).await.unwrap());
    assert!(
        !runs
            .fail_waiting(a, run, json!({"title": "rejected"}))
            .await
            .unwrap()
    );
    assert!(
        runs.finish(run, "w2", RunStatus::WaitingApproval, None, None, false)
            .await
            .unwrap()
    );
    assert!(
        !runs
            .fail_waiting(b, run, json!({"title": "rejected"}))
            .await
            .unwrap()
    );
    assert!(
        runs.fail_waiting(a, run, json!({"title": "rejected"}))
            .await
            .unwrap()
    );
    let failed = runs.find(a, run).await.unwrap().unwrap();
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.error, Some(json!({"title": "rejected"})));

    // Step context round-trips.
    db.steps()
        .insert_finished(step(a, run, 0, "first"))
        .await
        .unwrap();
    let steps = db.steps().list_for_run(a, run).await.unwrap();
    assert_eq!(steps[0].context, Some(json!({"after": "first"})));

    // Repairs filter by generator.
    let mut r = repair(a, run, wf, "accepted");
    r.generator = "heuristic:endpoint_moved".into();
    db.repairs().insert(r).await.unwrap();
    db.repairs()
        .insert(repair(a, run, wf, "rejected"))
        .await
        .unwrap();
    let by_generator = RepairFilter {
        generator: Some("heuristic:endpoint_moved".into()),
        ..RepairFilter::default()
    };
    let listed = db.repairs().list(a, &by_generator).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].generator, "heuristic:endpoint_moved");
    assert!(
        db.repairs()
            .list(b, &by_generator)
            .await
            .unwrap()
            .is_empty()
    );
}
