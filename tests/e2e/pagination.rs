//! `list` pages and `list_all` walks every page of a real server.

use chalk_sdk::model::{CreateApiKeyRequest, ListQuery, ListTenantsQuery, Scope, TenantStatus};
use futures_util::TryStreamExt;

use crate::common::TestServer;
use crate::support::{create_tenant, master};

#[tokio::test]
async fn list_all_walks_every_page_in_order_with_the_filter_kept() {
    let server = TestServer::start().await;
    let admin = master(&server);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create_tenant(&server, &format!("Paged {i}"))
                .await
                .tenant
                .id,
        );
    }

    let first = admin
        .tenants()
        .list(&ListTenantsQuery {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.data.len(), 2);
    let cursor = first.next_cursor.clone().expect("more pages");
    let second = admin
        .tenants()
        .list(&ListTenantsQuery {
            limit: Some(2),
            cursor: Some(cursor),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(second.data[0].id, ids[2]);

    let all: Vec<_> = admin
        .tenants()
        .list_all(ListTenantsQuery {
            limit: Some(2),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    let listed: Vec<_> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(listed, ids);

    for id in [&ids[1], &ids[3], &ids[4]] {
        admin.tenants().suspend(id).await.unwrap();
    }
    let suspended: Vec<_> = admin
        .tenants()
        .list_all(ListTenantsQuery {
            limit: Some(1),
            status: Some(TenantStatus::Suspended),
            ..Default::default()
        })
        .map_ok(|t| t.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(suspended, [ids[1].clone(), ids[3].clone(), ids[4].clone()]);
}

#[tokio::test]
async fn api_keys_list_all_crosses_pages() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Many Keys Co").await;
    let admin = master(&server);
    let keys = admin.tenants().api_keys(&created.tenant.id);
    for i in 0..4 {
        let request = CreateApiKeyRequest {
            name: format!("key {i}"),
            scopes: vec![Scope::RoomsRead],
            expires_at: None,
        };
        keys.create(&request).await.unwrap();
    }
    let all: Vec<_> = keys
        .list_all(ListQuery {
            limit: Some(2),
            cursor: None,
        })
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = all.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(all.len(), 5, "{names:?}");
    assert!(all[0].primary);
    assert_eq!(&names[1..], ["key 0", "key 1", "key 2", "key 3"]);
}
