//! [`Core`]: what the rules and the workers share — the store, the signing key ring, the
//! sealer, the policy, the metrics and the usage counters. Cheap to clone (`Arc` inside). The HTTP layer's
//! `AppState` holds one and derefs to it, so a handler passes `&state` where a rule takes
//! `&Core`.

use std::sync::Arc;

use crate::crypto::Sealer;
use crate::domain::policy::Policy;
use crate::domain::signing::TokenSigner;
use crate::domain::usage_counters::UsageCounters;
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct Core(Arc<Services>);

pub struct Services {
    pub store: Arc<Store>,
    pub signer: TokenSigner,
    /// Seals what is stored encrypted (provider secrets, signing keys, idempotent
    /// responses) and the pagination cursors.
    pub sealer: Sealer,
    pub policy: Policy,
    pub metrics: Metrics,
    /// Usage request counters waiting for the usage flush.
    pub usage: UsageCounters,
}

impl Core {
    pub fn new(store: Arc<Store>, signer: TokenSigner, sealer: Sealer, policy: Policy) -> Self {
        Core(Arc::new(Services {
            store,
            signer,
            sealer,
            policy,
            metrics: Metrics::default(),
            usage: UsageCounters::default(),
        }))
    }
}

impl std::ops::Deref for Core {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}
