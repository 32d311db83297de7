//! `client.audit()`: the audit log, `/api/v1/audit-events` (master or operator key) and
//! `/api/v1/tenants/{id}/audit-events` (the tenant's own, `tenant:admin`).

use futures_util::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{AuditEvent, ListAuditEventsQuery, Page};
use crate::pagination::walk;

/// The audit log. Get one with [`Client::audit`]. Read only: nothing changes or deletes an
/// entry through the API.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'c> {
    client: &'c Client,
}

impl<'c> Audit<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// One page of entries, oldest first (`GET /audit-events`, operator view: every
    /// tenant). Filters: `tenant_id`, `actor_id`, `action`, `since`, `until`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::ListAuditEventsQuery;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let query = ListAuditEventsQuery { action: Some("tenant.update".into()), ..Default::default() };
    /// for entry in client.audit().list(&query).await?.data {
    ///     println!("{} {} {:?}", entry.at, entry.action, entry.actor.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &ListAuditEventsQuery) -> Result<Page<AuditEvent>> {
        self.client
            .call(Method::GET, &["audit-events"])
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every matching entry, page after page; the first error ends the stream.
    pub fn list_all(
        &self,
        query: ListAuditEventsQuery,
    ) -> impl Stream<Item = Result<AuditEvent>> + Send + 'static {
        walk(self.client.clone(), vec!["audit-events".to_owned()], query)
    }

    /// One page of a tenant's own entries (`GET /tenants/{id}/audit-events`).
    pub async fn list_for_tenant(
        &self,
        tenant_id: &str,
        query: &ListAuditEventsQuery,
    ) -> Result<Page<AuditEvent>> {
        self.client
            .call(Method::GET, &["tenants", tenant_id, "audit-events"])
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every entry of a tenant's own log, page after page.
    pub fn list_all_for_tenant(
        &self,
        tenant_id: &str,
        query: ListAuditEventsQuery,
    ) -> impl Stream<Item = Result<AuditEvent>> + Send + 'static {
        walk(
            self.client.clone(),
            vec![
                "tenants".to_owned(),
                tenant_id.to_owned(),
                "audit-events".to_owned(),
            ],
            query,
        )
    }
}
