//! `client.tenants().webhook_endpoints(id)`, `.webhook_deliveries(id)` and `.events(id)`:
//! the sending side of webhooks. The receiving side (signature checks, typed events) is
//! [`crate::webhooks`].

use futures_util::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{
    CreateWebhookEndpointRequest, CreatedWebhookEndpoint, Deleted, EventRecord,
    ListDeliveriesQuery, ListEventsQuery, ListQuery, Page, RotateWebhookSecretRequest,
    RotatedWebhookSecret, UpdateWebhookEndpointRequest, WebhookDelivery, WebhookEndpoint,
    WebhookTestResult,
};
use crate::pagination::{CursorQuery, walk};

impl CursorQuery for ListEventsQuery {
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn set_cursor(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }
}

impl CursorQuery for ListDeliveriesQuery {
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn set_cursor(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }
}

/// A tenant's webhook endpoints. Get one with
/// [`Tenants::webhook_endpoints`](crate::Tenants::webhook_endpoints).
#[derive(Debug, Clone)]
pub struct WebhookEndpoints<'c> {
    client: &'c Client,
    tenant_id: String,
}

impl<'c> WebhookEndpoints<'c> {
    pub(crate) fn new(client: &'c Client, tenant_id: String) -> Self {
        Self { client, tenant_id }
    }

    fn path<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut path = vec!["tenants", self.tenant_id.as_str(), "webhook-endpoints"];
        path.extend_from_slice(rest);
        path
    }

    /// Creates an endpoint (`POST /tenants/{id}/webhook-endpoints`); its `whsec_` secret is
    /// shown this once. Sent with a fresh `Idempotency-Key`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateWebhookEndpointRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = CreateWebhookEndpointRequest {
    ///     url: "https://api.example.com/chalk/webhooks".into(),
    ///     events: vec!["room.ended".into(), "meeting.ended".into()],
    ///     description: None,
    ///     enabled: None,
    /// };
    /// let created = client.tenants().webhook_endpoints("tenant_abc123").create(&request).await?;
    /// println!("{} {}", created.endpoint.id, created.secret.expose());
    /// # Ok(()) }
    /// ```
    pub async fn create(
        &self,
        request: &CreateWebhookEndpointRequest,
    ) -> Result<CreatedWebhookEndpoint> {
        self.create_inner(request, None).await
    }

    /// [`create`](Self::create) with an `Idempotency-Key` of your own, for a create that
    /// may be retried by a later run (24 h): the retry gets the first response back, secret
    /// included, instead of a second endpoint.
    pub async fn create_with_idempotency_key(
        &self,
        request: &CreateWebhookEndpointRequest,
        idempotency_key: impl Into<String>,
    ) -> Result<CreatedWebhookEndpoint> {
        self.create_inner(request, Some(idempotency_key.into()))
            .await
    }

    async fn create_inner(
        &self,
        request: &CreateWebhookEndpointRequest,
        idempotency_key: Option<String>,
    ) -> Result<CreatedWebhookEndpoint> {
        self.client
            .call(Method::POST, &self.path(&[]))
            .idempotency_key(idempotency_key)
            .json(request)
            .data()
            .await
    }

    /// One page of endpoints, without secrets.
    pub async fn list(&self, query: &ListQuery) -> Result<Page<WebhookEndpoint>> {
        self.client
            .call(Method::GET, &self.path(&[]))
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every endpoint, page after page.
    pub fn list_all(
        &self,
        query: ListQuery,
    ) -> impl Stream<Item = Result<WebhookEndpoint>> + Send + 'static {
        walk(
            self.client.clone(),
            self.path(&[]).into_iter().map(str::to_owned).collect(),
            query,
        )
    }

    pub async fn get(&self, endpoint_id: &str) -> Result<WebhookEndpoint> {
        self.client
            .call(Method::GET, &self.path(&[endpoint_id]))
            .data()
            .await
    }

    /// Changes the fields set in `request`.
    pub async fn update(
        &self,
        endpoint_id: &str,
        request: &UpdateWebhookEndpointRequest,
    ) -> Result<WebhookEndpoint> {
        self.client
            .call(Method::PATCH, &self.path(&[endpoint_id]))
            .json(request)
            .data()
            .await
    }

    pub async fn delete(&self, endpoint_id: &str) -> Result<Deleted> {
        self.client
            .call(Method::DELETE, &self.path(&[endpoint_id]))
            .data()
            .await
    }

    /// A new secret, shown this once; the previous one keeps signing for
    /// `expire_previous_in_seconds` (default a day), so both verify meanwhile.
    ///
    /// ```no_run
    /// use chalk_sdk::model::RotateWebhookSecretRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = RotateWebhookSecretRequest { expire_previous_in_seconds: Some(3600) };
    /// let rotated = client
    ///     .tenants()
    ///     .webhook_endpoints("tenant_abc123")
    ///     .rotate_secret("we_123", &request)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn rotate_secret(
        &self,
        endpoint_id: &str,
        request: &RotateWebhookSecretRequest,
    ) -> Result<RotatedWebhookSecret> {
        self.client
            .call(Method::POST, &self.path(&[endpoint_id, "rotate-secret"]))
            .idempotency_key(None)
            .json(request)
            .data()
            .await
    }

    /// Queues a `webhook.test` event to the endpoint now.
    pub async fn test(&self, endpoint_id: &str) -> Result<WebhookTestResult> {
        self.client
            .call(Method::POST, &self.path(&[endpoint_id, "test"]))
            .data()
            .await
    }
}

/// A tenant's delivery log. Get one with
/// [`Tenants::webhook_deliveries`](crate::Tenants::webhook_deliveries).
#[derive(Debug, Clone)]
pub struct WebhookDeliveries<'c> {
    client: &'c Client,
    tenant_id: String,
}

impl<'c> WebhookDeliveries<'c> {
    pub(crate) fn new(client: &'c Client, tenant_id: String) -> Self {
        Self { client, tenant_id }
    }

    /// One page of deliveries, newest first, with their attempts.
    pub async fn list(&self, query: &ListDeliveriesQuery) -> Result<Page<WebhookDelivery>> {
        self.client
            .call(
                Method::GET,
                &["tenants", &self.tenant_id, "webhook-deliveries"],
            )
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every delivery matching `query`, page after page.
    pub fn list_all(
        &self,
        query: ListDeliveriesQuery,
    ) -> impl Stream<Item = Result<WebhookDelivery>> + Send + 'static {
        walk(
            self.client.clone(),
            vec![
                "tenants".to_owned(),
                self.tenant_id.clone(),
                "webhook-deliveries".to_owned(),
            ],
            query,
        )
    }

    /// Sends a failed or exhausted delivery again now (same `webhook-id`).
    pub async fn retry(&self, delivery_id: &str) -> Result<WebhookDelivery> {
        self.client
            .call(
                Method::POST,
                &[
                    "tenants",
                    &self.tenant_id,
                    "webhook-deliveries",
                    delivery_id,
                    "retry",
                ],
            )
            .data()
            .await
    }
}

/// A tenant's events. Get one with [`Tenants::events`](crate::Tenants::events).
#[derive(Debug, Clone)]
pub struct Events<'c> {
    client: &'c Client,
    tenant_id: String,
}

impl<'c> Events<'c> {
    pub(crate) fn new(client: &'c Client, tenant_id: String) -> Self {
        Self { client, tenant_id }
    }

    /// One page of events, newest first.
    ///
    /// ```no_run
    /// use chalk_sdk::model::{EventType, ListEventsQuery};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let query = ListEventsQuery { event_type: Some(EventType::RoomEnded), ..Default::default() };
    /// let page = client.tenants().events("tenant_abc123").list(&query).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &ListEventsQuery) -> Result<Page<EventRecord>> {
        self.client
            .call(Method::GET, &["tenants", &self.tenant_id, "events"])
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every event matching `query`, newest first, page after page.
    pub fn list_all(
        &self,
        query: ListEventsQuery,
    ) -> impl Stream<Item = Result<EventRecord>> + Send + 'static {
        walk(
            self.client.clone(),
            vec![
                "tenants".to_owned(),
                self.tenant_id.clone(),
                "events".to_owned(),
            ],
            query,
        )
    }
}
