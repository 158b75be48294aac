//! The store methods whose SQL is the same on SQLite and Postgres, written once.
//!
//! `shared_store_methods!` expands inside each backend module, against its pool, row and
//! database types. Timestamps go through [`Ts`](super::ts::Ts), which each dialect stores in
//! its own way, so the SQL and the binds are identical. Dialect-specific work (claiming jobs,
//! failing them, recording deliveries, counting) stays in `sqlite.rs` and `postgres.rs`.
//!
//! Each backend must provide `MIGRATOR`, `CLAIM_CANDIDATES` with
//! `kinds_arg`, `FOR_UPDATE` (the row-lock suffix of a `SELECT`, empty where the transaction
//! already holds the write lock), a `pool` field and an `async fn begin(&self)` opening a write
//! transaction.

macro_rules! shared_store_methods {
    ($store:ident, $db:ty, $row:ty) => {
        super::shared::row_records!($row);

        const JOB_COLUMNS: &str = "id, kind, payload, delivery_id, supersede_key, state, \
            attempts, max_attempts, run_at, lease_owner, lease_expires_at, last_error, \
            superseded_by, created_at, finished_at";

        fn job_record(row: &$row) -> Result<JobRecord, StoreError> {
            Ok(JobRecord {
                id: JobId(row.try_get("id")?),
                kind: row.try_get("kind")?,
                payload: row.try_get("payload")?,
                delivery_id: row.try_get("delivery_id")?,
                supersede_key: row.try_get("supersede_key")?,
                state: JobState::parse(&row.try_get::<String, _>("state")?)?,
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
                run_at: row.try_get::<Ts, _>("run_at")?.0,
                lease_owner: row.try_get("lease_owner")?,
                lease_expires_at: row.try_get::<Option<Ts>, _>("lease_expires_at")?.map(|t| t.0),
                last_error: row.try_get("last_error")?,
                superseded_by: row.try_get::<Option<i64>, _>("superseded_by")?.map(JobId),
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                finished_at: row.try_get::<Option<Ts>, _>("finished_at")?.map(|t| t.0),
            })
        }

        fn claimed_job(row: &$row) -> Result<ClaimedJob, StoreError> {
            Ok(ClaimedJob {
                id: JobId(row.try_get("id")?),
                kind: row.try_get("kind")?,
                payload: row.try_get("payload")?,
                delivery_id: row.try_get("delivery_id")?,
                attempt: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
            })
        }

        async fn insert_job(
            tx: &mut sqlx::Transaction<'_, $db>,
            job: &NewJob,
            delivery_id: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<JobId, StoreError> {
            let now = Ts(now);
            let row = sqlx::query(
                "INSERT INTO jobs (kind, payload, delivery_id, supersede_key, state, attempts, \
                 max_attempts, run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7) RETURNING id",
            )
            .bind(&job.kind)
            .bind(&job.payload)
            .bind(delivery_id)
            .bind(&job.supersede_key)
            .bind(job.max_attempts)
            .bind(Ts(job.run_at))
            .bind(&now)
            .fetch_one(&mut **tx)
            .await?;
            let id = JobId(row.try_get("id")?);
            if let Some(key) = &job.supersede_key {
                sqlx::query(
                    "UPDATE jobs SET state = 'superseded', superseded_by = $1, finished_at = $2, \
                     updated_at = $2 WHERE supersede_key = $3 AND state = 'queued' AND id <> $1",
                )
                .bind(id.0)
                .bind(&now)
                .bind(key)
                .execute(&mut **tx)
                .await?;
            }
            Ok(id)
        }


        /// Records one delivery and its jobs inside `tx`; a known delivery id writes nothing.
        async fn record_one(
            tx: &mut sqlx::Transaction<'_, $db>,
            delivery: &NewDelivery,
            jobs: &[NewJob],
        ) -> Result<RecordedDelivery, StoreError> {
            let inserted = sqlx::query(
                "INSERT INTO deliveries (delivery_id, event, action, installation_id, repo, \
                 outcome, jobs_enqueued, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind(&delivery.delivery_id)
            .bind(&delivery.event)
            .bind(&delivery.action)
            .bind(delivery.installation_id)
            .bind(&delivery.repo)
            .bind(if jobs.is_empty() { "ignored" } else { "queued" })
            .bind(jobs.len() as i32)
            .bind(Ts(delivery.received_at))
            .execute(&mut **tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Ok(RecordedDelivery::Duplicate);
            }
            let mut job_ids = Vec::with_capacity(jobs.len());
            for job in jobs {
                job_ids.push(
                    insert_job(tx, job, Some(&delivery.delivery_id), delivery.received_at).await?,
                );
            }
            Ok(RecordedDelivery::Accepted { job_ids })
        }

        /// A review's unique key as `$1`..`$5`: repo, pr, head_sha, analysis, round.
        const REVIEW_KEY: &str =
            "repo = $1 AND pr = $2 AND head_sha = $3 AND analysis = $4 AND round = $5";

        /// Binds as `bind_review` does; a key recorded before inserts nothing.
        const INSERT_REVIEW: &str = "INSERT INTO reviews (repo, pr, head_sha, analysis, round, \
            installation_id, github_review_id, check_run_id, job_id, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
            ON CONFLICT (repo, pr, head_sha, analysis, round) DO NOTHING RETURNING id";

        /// Binds as `bind_suggestion` does; a fingerprint recorded on the pull request before
        /// inserts nothing.
        const INSERT_SUGGESTION: &str = "INSERT INTO suggestions (model_call_id, review_id, repo, \
            pr, head_sha, kind, source, category, path, line, anchor, severity, confidence, cwe, \
            fingerprint, title, body, original, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
            $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
            ON CONFLICT (repo, pr, fingerprint) DO NOTHING RETURNING id";

        /// Binds as `bind_suggestion` does: rewrites the suggestion with the same fingerprint
        /// for review `$2` when it was never shown. Never shown means: it belongs to another
        /// review (not `$2`: a row of `$2` here was inserted by this very preparation, so the
        /// input repeats a fingerprint), that review was never posted, it has no comment and
        /// nobody gave feedback on it.
        const TAKE_OVER_SUGGESTION: &str = "UPDATE suggestions SET model_call_id = $1, \
            review_id = $2, head_sha = $5, kind = $6, source = $7, category = $8, path = $9, \
            line = $10, anchor = $11, severity = $12, confidence = $13, cwe = $14, title = $16, \
            body = $17, original = $18, created_at = $19 \
            WHERE repo = $3 AND pr = $4 AND fingerprint = $15 AND github_comment_id IS NULL \
            AND review_id <> $2 \
            AND review_id IN (SELECT id FROM reviews WHERE github_review_id IS NULL) \
            AND NOT EXISTS (SELECT 1 FROM feedback_events f WHERE f.suggestion_id = suggestions.id) \
            RETURNING id";

        /// Deletes the suggestions of review `$1` that nobody was shown: no comment, no
        /// feedback (feedback on one means its comment reached GitHub after all).
        const DELETE_UNSHOWN_SUGGESTIONS: &str = "DELETE FROM suggestions WHERE review_id = $1 \
            AND github_comment_id IS NULL \
            AND NOT EXISTS (SELECT 1 FROM feedback_events f WHERE f.suggestion_id = suggestions.id)";

        type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>;

        /// Binds a review as `$1`..`$10` in `INSERT_REVIEW`'s column order.
        fn bind_review<'q>(query: Query<'q>, r: &NewReview, github_review_id: Option<i64>) -> Query<'q> {
            query
                .bind(&r.repo)
                .bind(r.pr)
                .bind(&r.head_sha)
                .bind(&r.analysis)
                .bind(r.round)
                .bind(r.installation_id)
                .bind(github_review_id)
                .bind(r.check_run_id)
                .bind(r.job_id.map(|j| j.0))
                .bind(Ts(r.created_at))
        }

        /// Binds a suggestion as `$1`..`$19` in `INSERT_SUGGESTION`'s column order, with
        /// `review_id` in place of its own.
        fn bind_suggestion<'q>(query: Query<'q>, s: &NewSuggestion, review_id: Option<ReviewId>) -> Query<'q> {
            query
                .bind(s.model_call_id.map(|m| m.0))
                .bind(review_id.map(|r| r.0))
                .bind(&s.repo)
                .bind(s.pr)
                .bind(&s.head_sha)
                .bind(s.kind.as_str())
                .bind(s.source.as_str())
                .bind(&s.category)
                .bind(&s.path)
                .bind(s.line)
                .bind(s.anchor.as_str())
                .bind(&s.severity)
                .bind(s.confidence)
                .bind(&s.cwe)
                .bind(&s.fingerprint)
                .bind(&s.title)
                .bind(&s.body)
                .bind(&s.original)
                .bind(Ts(s.created_at))
        }


        /// Connections of their own for an export's long reads: statement logging off (a read
        /// that streams a whole table for minutes is not a slow query to warn about). Fails
        /// for an in-memory SQLite, which another connection would not see.
        fn export_pool(pool: &sqlx::Pool<$db>) -> Result<sqlx::Pool<$db>, StoreError> {
            use sqlx::ConnectOptions;
            if pool.options().get_max_connections() < 3 {
                return Err(StoreError::Unsupported(
                    "exports read on connections of their own: use a database file, not :memory:"
                        .into(),
                ));
            }
            let options = (*pool.connect_options()).clone().disable_statement_logging();
            Ok(sqlx::pool::PoolOptions::<$db>::new()
                .max_connections(3)
                .connect_lazy_with(options))
        }

        /// Runs an export's `read` in the background on connections of its own
        /// ([`export_pool`]); its rows, or the error that stopped it, arrive on the stream.
        fn spawn_export<T, F, Fut>(
            pool: &sqlx::Pool<$db>,
            read: F,
        ) -> crate::export::source::ExportStream<T>
        where
            T: Send + 'static,
            F: FnOnce(sqlx::Pool<$db>, tokio::sync::mpsc::Sender<Result<Vec<T>, StoreError>>) -> Fut
                + Send
                + 'static,
            Fut: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
        {
            let (tx, rx) = tokio::sync::mpsc::channel(crate::export::source::EXPORT_BUFFER);
            let pool = export_pool(pool);
            tokio::spawn(async move {
                let result = match pool {
                    Ok(pool) => read(pool, tx.clone()).await,
                    Err(e) => Err(e),
                };
                crate::export::source::end_export(&tx, result).await;
            });
            crate::export::source::ExportStream::new(rx)
        }

        /// Binds an export filter's values, in order, after the placeholders already bound.
        fn bind_filter<'q>(
            mut query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            values: &[crate::export::source::FilterValue],
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            use crate::export::source::FilterValue;
            for value in values {
                query = match value {
                    FilterValue::Text(text) => query.bind(text.clone()),
                    FilterValue::Time(time) => query.bind(Ts(*time)),
                };
            }
            query
        }


        fn review_record(row: &$row) -> Result<Review, StoreError> {
            Ok(Review {
                id: ReviewId(row.try_get("id")?),
                review: NewReview {
                    installation_id: row.try_get("installation_id")?,
                    repo: row.try_get("repo")?,
                    pr: row.try_get("pr")?,
                    head_sha: row.try_get("head_sha")?,
                    analysis: row.try_get("analysis")?,
                    round: row.try_get("round")?,
                    github_review_id: row.try_get("github_review_id")?,
                    check_run_id: row.try_get("check_run_id")?,
                    job_id: row.try_get::<Option<i64>, _>("job_id")?.map(JobId),
                    created_at: row.try_get::<Ts, _>("created_at")?.0,
                },
            })
        }


        impl $store {
            /// A job whose worker died with every attempt used becomes a dead letter, not a
            /// loop. Runs before each claim.
            async fn reap_expired_leases(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE jobs SET state = 'dead', finished_at = $1, updated_at = $1, \
                     lease_owner = NULL, lease_expires_at = NULL, \
                     last_error = 'lease expired on attempt ' || attempts || ' of ' \
                     || max_attempts || ' (the worker stopped or was killed)' \
                     || COALESCE('; previous error: ' || last_error, '') \
                     WHERE state = 'running' AND lease_expires_at < $1 \
                     AND attempts >= max_attempts",
                )
                .bind(Ts(now))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub(super) async fn claim_next_job(
                &self,
                worker: &str,
                kinds: &[&str],
                now: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> Result<Option<ClaimedJob>, StoreError> {
                let kinds = kinds_arg(kinds)?;
                self.reap_expired_leases(now).await?;
                for candidates in CLAIM_CANDIDATES {
                    let sql = format!(
                        "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
                         lease_owner = $1, lease_expires_at = $2, updated_at = $3 \
                         WHERE id = ({candidates}) \
                         RETURNING id, kind, payload, delivery_id, attempts, max_attempts"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(worker)
                        .bind(Ts(until))
                        .bind(Ts(now))
                        .bind(&kinds)
                        .fetch_optional(&self.pool)
                        .await?;
                    if let Some(row) = row {
                        return claimed_job(&row).map(Some);
                    }
                }
                Ok(None)
            }

            pub(super) async fn fail_job(
                &self,
                job: JobId,
                worker: &str,
                error: &str,
                retry_at: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> Result<FailedJob, StoreError> {
                let row = sqlx::query(
                    "UPDATE jobs SET \
                       state = CASE WHEN attempts >= max_attempts OR $6 THEN 'dead' ELSE 'queued' END, \
                       run_at = CASE WHEN attempts >= max_attempts OR $6 THEN run_at ELSE $1 END, \
                       finished_at = CASE WHEN attempts >= max_attempts OR $6 THEN $2 ELSE NULL END, \
                       last_error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2 \
                     WHERE id = $4 AND state = 'running' AND lease_owner = $5 \
                     RETURNING state, run_at",
                )
                .bind(Ts(retry_at.unwrap_or(now)))
                .bind(Ts(now))
                .bind(error)
                .bind(job.0)
                .bind(worker)
                .bind(retry_at.is_none())
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else {
                    return Ok(FailedJob::LeaseLost);
                };
                Ok(match JobState::parse(&row.try_get::<String, _>("state")?)? {
                    JobState::Dead => FailedJob::Dead,
                    _ => FailedJob::Retrying { run_at: row.try_get::<Ts, _>("run_at")?.0 },
                })
            }

            pub(super) async fn list_jobs(
                &self,
                state: Option<JobState>,
            ) -> Result<Vec<JobRecord>, StoreError> {
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs \
                     WHERE (CAST($1 AS TEXT) IS NULL OR state = CAST($1 AS TEXT)) ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(state.map(JobState::as_str))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(job_record).collect()
            }

            pub(super) async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
                let row = sqlx::query(
                    "SELECT \
                       COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) AS queued, \
                       COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS running, \
                       COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) AS dead \
                     FROM jobs WHERE state IN ('queued', 'running', 'dead')",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(QueueDepth {
                    queued: row.try_get("queued")?,
                    running: row.try_get("running")?,
                    dead: row.try_get("dead")?,
                })
            }
        pub(super) async fn migrate(&self) -> Result<(), StoreError> {
            MIGRATOR.run(&self.pool).await?;
            Ok(())
        }

        pub(super) async fn ping(&self) -> Result<(), StoreError> {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        }

        pub(super) async fn close(&self) {
            self.pool.close().await;
        }

        pub(super) async fn enqueue_job(
            &self,
            job: &NewJob,
            now: DateTime<Utc>,
        ) -> Result<JobId, StoreError> {
            let mut tx = self.begin().await?;
            let id = insert_job(&mut tx, job, None, now).await?;
            tx.commit().await?;
            Ok(id)
        }

        pub(super) async fn extend_lease(
            &self,
            job: JobId,
            worker: &str,
            now: DateTime<Utc>,
            until: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
                 WHERE id = $3 AND state = 'running' AND lease_owner = $4",
            )
            .bind(Ts(until))
            .bind(Ts(now))
            .bind(job.0)
            .bind(worker)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(super) async fn complete_job(
            &self,
            job: JobId,
            worker: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE jobs SET state = 'done', finished_at = $1, updated_at = $1, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $2 AND state = 'running' AND lease_owner = $3",
            )
            .bind(Ts(now))
            .bind(job.0)
            .bind(worker)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(super) async fn release_job(
            &self,
            job: JobId,
            worker: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_at = $1, \
                 updated_at = $1, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $2 AND state = 'running' AND lease_owner = $3",
            )
            .bind(Ts(now))
            .bind(job.0)
            .bind(worker)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(super) async fn get_job(&self, job: JobId) -> Result<JobRecord, StoreError> {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(job.0)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("job {job}")))?;
            job_record(&row)
        }

        pub(super) async fn delivery_exists(&self, delivery_id: &str) -> Result<bool, StoreError> {
            let row = sqlx::query("SELECT 1 FROM deliveries WHERE delivery_id = $1")
                .bind(delivery_id)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.is_some())
        }

        pub(super) async fn upsert_installation(
            &self,
            installation: &Installation,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO installations (id, account_login, account_type, repository_selection, \
                 suspended, deleted_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET account_login = excluded.account_login, \
                 account_type = excluded.account_type, \
                 repository_selection = excluded.repository_selection, \
                 suspended = excluded.suspended, deleted_at = NULL, updated_at = excluded.updated_at",
            )
            .bind(installation.id)
            .bind(&installation.account_login)
            .bind(&installation.account_type)
            .bind(&installation.repository_selection)
            .bind(installation.suspended)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        pub(super) async fn delete_installation(
            &self,
            id: i64,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut tx = self.begin().await?;
            sqlx::query("DELETE FROM installation_repositories WHERE installation_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE installations SET deleted_at = $1, updated_at = $1 WHERE id = $2")
                .bind(Ts(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn get_installation(
            &self,
            id: i64,
        ) -> Result<Option<Installation>, StoreError> {
            let row = sqlx::query(
                "SELECT id, account_login, account_type, repository_selection, suspended \
                 FROM installations WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|row| {
                Ok(Installation {
                    id: row.try_get("id")?,
                    account_login: row.try_get("account_login")?,
                    account_type: row.try_get("account_type")?,
                    repository_selection: row.try_get("repository_selection")?,
                    suspended: row.try_get("suspended")?,
                })
            })
            .transpose()
        }

        pub(super) async fn update_installation_repositories(
            &self,
            installation_id: i64,
            added: &[InstallationRepository],
            removed: &[i64],
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut tx = self.begin().await?;
            for repo in added {
                sqlx::query(
                    "INSERT INTO installation_repositories (installation_id, repo_id, full_name, added_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (installation_id, repo_id) \
                     DO UPDATE SET full_name = excluded.full_name",
                )
                .bind(installation_id)
                .bind(repo.repo_id)
                .bind(&repo.full_name)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
            }
            for repo_id in removed {
                sqlx::query(
                    "DELETE FROM installation_repositories WHERE installation_id = $1 AND repo_id = $2",
                )
                .bind(installation_id)
                .bind(repo_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn list_installation_repositories(
            &self,
            installation_id: i64,
        ) -> Result<Vec<InstallationRepository>, StoreError> {
            let rows = sqlx::query(
                "SELECT repo_id, full_name FROM installation_repositories \
                 WHERE installation_id = $1 ORDER BY full_name",
            )
            .bind(installation_id)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(InstallationRepository {
                        repo_id: row.try_get("repo_id")?,
                        full_name: row.try_get("full_name")?,
                    })
                })
                .collect()
        }

        pub(super) async fn insert_model_call(
            &self,
            call: &NewModelCall,
        ) -> Result<ModelCallId, StoreError> {
            let row = sqlx::query(
                "INSERT INTO model_calls (installation_id, repo, pr, head_sha, job_id, analysis, \
                 prompt_id, prompt_version, provider, model, deployment, messages, response_format, \
                 raw_answer, finish_reason, status, error, tokens_in, tokens_out, latency_ms, attempt, \
                 created_at, message_tokens, answer_tokens, messages_scan) VALUES ($1, $2, $3, $4, \
                 $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
                 $22, $23, $24, $25) RETURNING id",
            )
            .bind(call.installation_id)
            .bind(&call.repo)
            .bind(call.pr)
            .bind(&call.head_sha)
            .bind(call.job_id.map(|j| j.0))
            .bind(&call.analysis)
            .bind(&call.prompt_id)
            .bind(&call.prompt_version)
            .bind(&call.provider)
            .bind(&call.model)
            .bind(&call.deployment)
            .bind(&call.messages)
            .bind(&call.response_format)
            .bind(&call.raw_answer)
            .bind(&call.finish_reason)
            .bind(call.status.as_str())
            .bind(&call.error)
            .bind(call.tokens_in)
            .bind(call.tokens_out)
            .bind(call.latency_ms)
            .bind(call.attempt)
            .bind(Ts(call.created_at))
            .bind(call.message_tokens)
            .bind(call.answer_tokens.as_ref().map(AnswerTokens::to_text))
            .bind(&call.messages_scan)
            .fetch_one(&self.pool)
            .await?;
            Ok(ModelCallId(row.try_get("id")?))
        }

        pub(super) async fn get_model_call(&self, id: ModelCallId) -> Result<ModelCall, StoreError> {
            let row = sqlx::query("SELECT * FROM model_calls WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("model call {id}")))?;
            model_call_record(&row)
        }

        pub(super) async fn insert_suggestion(
            &self,
            s: &NewSuggestion,
        ) -> Result<Inserted<SuggestionId>, StoreError> {
            let row = bind_suggestion(sqlx::query(INSERT_SUGGESTION), s, s.review_id)
                .fetch_optional(&self.pool)
                .await?;
            match row {
                Some(row) => Ok(Inserted::New(SuggestionId(row.try_get("id")?))),
                None => Ok(Inserted::Duplicate),
            }
        }

        pub(super) async fn set_suggestion_comment(
            &self,
            id: SuggestionId,
            github_comment_id: i64,
        ) -> Result<(), StoreError> {
            let done = sqlx::query("UPDATE suggestions SET github_comment_id = $1 WHERE id = $2")
                .bind(github_comment_id)
                .bind(id.0)
                .execute(&self.pool)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("suggestion {id}")));
            }
            Ok(())
        }

        pub(super) async fn insert_review(&self, r: &NewReview) -> Result<Inserted<ReviewId>, StoreError> {
            let row = bind_review(sqlx::query(INSERT_REVIEW), r, r.github_review_id)
                .fetch_optional(&self.pool)
                .await?;
            match row {
                Some(row) => Ok(Inserted::New(ReviewId(row.try_get("id")?))),
                None => Ok(Inserted::Duplicate),
            }
        }

        pub(super) async fn find_review_by_head(
            &self,
            repo: &str,
            pr: i64,
            head_sha: &str,
            analysis: &str,
            round: i64,
        ) -> Result<Option<Review>, StoreError> {
            let sql = format!("SELECT * FROM reviews WHERE {REVIEW_KEY}");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(repo)
                .bind(pr)
                .bind(head_sha)
                .bind(analysis)
                .bind(round)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(review_record).transpose()
        }

        pub(super) async fn prepare_review(
            &self,
            review: &NewReview,
            suggestions: &[NewSuggestion],
            render: &(dyn Fn(SuggestionId, usize) -> String + Send + Sync),
        ) -> Result<PreparedReview, StoreError> {
            let mut tx = self.begin().await?;
            // Insert first: on Postgres a concurrent prepare of the same key then waits for this
            // one instead of failing on the unique key.
            let inserted = bind_review(sqlx::query(INSERT_REVIEW), review, None)
                .fetch_optional(&mut *tx)
                .await?;
            let review_id = match inserted {
                Some(row) => ReviewId(row.try_get("id")?),
                None => {
                    let sql = format!(
                        "SELECT id, github_review_id FROM reviews WHERE {REVIEW_KEY}{FOR_UPDATE}"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&review.repo)
                        .bind(review.pr)
                        .bind(&review.head_sha)
                        .bind(&review.analysis)
                        .bind(review.round)
                        .fetch_one(&mut *tx)
                        .await?;
                    let id = ReviewId(row.try_get("id")?);
                    if let Some(posted) = row.try_get::<Option<i64>, _>("github_review_id")? {
                        tx.rollback().await?;
                        return Ok(PreparedReview {
                            review_id: id,
                            posted: Some(posted),
                            suggestions: vec![None; suggestions.len()],
                        });
                    }
                    // An earlier attempt stopped before posting: what it recorded was never
                    // shown, so this attempt starts over under the same review.
                    sqlx::query(DELETE_UNSHOWN_SUGGESTIONS)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                    id
                }
            };
            let mut ids = Vec::with_capacity(suggestions.len());
            for s in suggestions {
                let mut row = bind_suggestion(sqlx::query(INSERT_SUGGESTION), s, Some(review_id))
                    .fetch_optional(&mut *tx)
                    .await?;
                if row.is_none() {
                    row = bind_suggestion(sqlx::query(TAKE_OVER_SUGGESTION), s, Some(review_id))
                        .fetch_optional(&mut *tx)
                        .await?;
                }
                ids.push(match row {
                    Some(row) => Some(SuggestionId(row.try_get("id")?)),
                    None => None,
                });
            }
            for (index, id) in ids.iter().enumerate() {
                let Some(id) = *id else { continue };
                sqlx::query("UPDATE suggestions SET body = $1 WHERE id = $2")
                    .bind(render(id, index))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(PreparedReview {
                review_id,
                posted: None,
                suggestions: ids,
            })
        }

        pub(super) async fn finish_review(
            &self,
            review: ReviewId,
            github_review_id: i64,
            placed: &[(SuggestionId, Option<i64>, Anchor)],
        ) -> Result<(), StoreError> {
            let mut tx = self.begin().await?;
            let done = sqlx::query("UPDATE reviews SET github_review_id = $1 WHERE id = $2")
                .bind(github_review_id)
                .bind(review.0)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("review {review}")));
            }
            for (id, comment, anchor) in placed {
                let done = sqlx::query(
                    "UPDATE suggestions SET github_comment_id = $1, anchor = $2 WHERE id = $3",
                )
                .bind(*comment)
                .bind(anchor.as_str())
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    // The review is on GitHub: recording that matters more than one lost row
                    // (only a concurrent attempt at the same review could have removed it).
                    tracing::warn!(review_id = %review, suggestion_id = %id, "a posted suggestion is no longer recorded");
                }
            }
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn posted_fingerprints(&self, repo: &str, pr: i64) -> Result<Vec<String>, StoreError> {
            let rows = sqlx::query(
                "SELECT s.fingerprint FROM suggestions s LEFT JOIN reviews r ON r.id = s.review_id \
                 WHERE s.repo = $1 AND s.pr = $2 AND (s.review_id IS NULL \
                 OR r.github_review_id IS NOT NULL OR s.github_comment_id IS NOT NULL \
                 OR EXISTS (SELECT 1 FROM feedback_events f WHERE f.suggestion_id = s.id)) \
                 ORDER BY s.id",
            )
            .bind(repo)
            .bind(pr)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(|row| Ok(row.try_get("fingerprint")?)).collect()
        }

        pub(super) async fn last_reviewed_head(&self, repo: &str, pr: i64) -> Result<Option<String>, StoreError> {
            let row = sqlx::query(
                "SELECT head_sha FROM reviews WHERE repo = $1 AND pr = $2 \
                 AND github_review_id IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(repo)
            .bind(pr)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|row| Ok(row.try_get("head_sha")?)).transpose()
        }

        pub(super) async fn review_suggestions(&self, review: ReviewId) -> Result<Vec<Suggestion>, StoreError> {
            let rows = sqlx::query("SELECT * FROM suggestions WHERE review_id = $1 ORDER BY id")
                .bind(review.0)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(suggestion_record).collect()
        }

        pub(super) async fn get_suggestion(&self, id: SuggestionId) -> Result<Suggestion, StoreError> {
            let row = sqlx::query("SELECT * FROM suggestions WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("suggestion {id}")))?;
            suggestion_record(&row)
        }

        pub(super) async fn set_paused(
            &self,
            repo: &str,
            pr: i64,
            paused: bool,
            by: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO pull_requests (repo, pr, paused, paused_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repo, pr) DO UPDATE SET \
                 paused = excluded.paused, paused_by = excluded.paused_by, \
                 updated_at = excluded.updated_at",
            )
            .bind(repo)
            .bind(pr)
            .bind(paused)
            .bind(by)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        pub(super) async fn is_paused(&self, repo: &str, pr: i64) -> Result<bool, StoreError> {
            let row = sqlx::query("SELECT paused FROM pull_requests WHERE repo = $1 AND pr = $2")
                .bind(repo)
                .bind(pr)
                .fetch_optional(&self.pool)
                .await?;
            row.map_or(Ok(false), |row| Ok(row.try_get("paused")?))
        }

        pub(super) async fn suggestion_by_fingerprint(
            &self,
            repo: &str,
            pr: i64,
            fingerprint: &str,
        ) -> Result<Option<Suggestion>, StoreError> {
            let row = sqlx::query(
                "SELECT * FROM suggestions WHERE repo = $1 AND pr = $2 AND fingerprint = $3",
            )
            .bind(repo)
            .bind(pr)
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(suggestion_record).transpose()
        }

        pub(super) async fn suggestion_by_comment(
            &self,
            repo: &str,
            github_comment_id: i64,
        ) -> Result<Option<Suggestion>, StoreError> {
            let row = sqlx::query(
                "SELECT * FROM suggestions WHERE repo = $1 AND github_comment_id = $2",
            )
            .bind(repo)
            .bind(github_comment_id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(suggestion_record).transpose()
        }

        pub(super) async fn shown_suggestions(&self, repo: &str, pr: i64) -> Result<Vec<Suggestion>, StoreError> {
            let rows = sqlx::query(
                "SELECT s.* FROM suggestions s LEFT JOIN reviews r ON r.id = s.review_id \
                 WHERE s.repo = $1 AND s.pr = $2 \
                 AND (r.github_review_id IS NOT NULL OR s.github_comment_id IS NOT NULL) \
                 ORDER BY s.id",
            )
            .bind(repo)
            .bind(pr)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(suggestion_record).collect()
        }

        pub(super) async fn record_check_run(
            &self,
            record: &CheckRunRecord,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO check_runs (repo, pr, head_sha, github_check_run_id, facts, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (repo, pr, head_sha) DO UPDATE SET \
                 github_check_run_id = excluded.github_check_run_id, facts = excluded.facts, \
                 updated_at = excluded.updated_at",
            )
            .bind(&record.repo)
            .bind(record.pr)
            .bind(&record.head_sha)
            .bind(record.github_check_run_id)
            .bind(&record.facts)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        pub(super) async fn latest_check_run(&self, repo: &str, pr: i64) -> Result<Option<CheckRunRecord>, StoreError> {
            let row = sqlx::query(
                "SELECT * FROM check_runs WHERE repo = $1 AND pr = $2 \
                 ORDER BY updated_at DESC, id DESC LIMIT 1",
            )
            .bind(repo)
            .bind(pr)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|row| {
                Ok(CheckRunRecord {
                    repo: row.try_get("repo")?,
                    pr: row.try_get("pr")?,
                    head_sha: row.try_get("head_sha")?,
                    github_check_run_id: row.try_get("github_check_run_id")?,
                    facts: row.try_get("facts")?,
                })
            })
            .transpose()
        }

        pub(super) async fn reaction_etag(&self, github_comment_id: i64) -> Result<Option<String>, StoreError> {
            let row = sqlx::query("SELECT etag FROM reaction_polls WHERE github_comment_id = $1")
                .bind(github_comment_id)
                .fetch_optional(&self.pool)
                .await?;
            Ok(match row {
                Some(row) => row.try_get("etag")?,
                None => None,
            })
        }

        pub(super) async fn set_reaction_etag(
            &self,
            github_comment_id: i64,
            etag: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO reaction_polls (github_comment_id, etag, polled_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (github_comment_id) DO UPDATE SET etag = excluded.etag, \
                 polled_at = excluded.polled_at",
            )
            .bind(github_comment_id)
            .bind(etag)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        pub(super) async fn upsert_pull_request(
            &self,
            repo: &str,
            pr: i64,
            installation_id: i64,
            open: bool,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO pull_requests (repo, pr, installation_id, is_open, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repo, pr) DO UPDATE SET \
                 installation_id = excluded.installation_id, is_open = excluded.is_open, \
                 updated_at = excluded.updated_at",
            )
            .bind(repo)
            .bind(pr)
            .bind(installation_id)
            .bind(open)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        pub(super) async fn pull_requests_to_poll(&self, since: DateTime<Utc>) -> Result<Vec<PollTarget>, StoreError> {
            let rows = sqlx::query(
                "SELECT p.repo, p.pr, p.installation_id FROM pull_requests p \
                 WHERE p.is_open AND p.installation_id IS NOT NULL AND EXISTS ( \
                   SELECT 1 FROM suggestions s WHERE s.repo = p.repo AND s.pr = p.pr \
                   AND s.github_comment_id IS NOT NULL AND s.created_at >= $1) \
                 ORDER BY p.repo, p.pr",
            )
            .bind(Ts(since))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(PollTarget {
                        repo: row.try_get("repo")?,
                        pr: row.try_get("pr")?,
                        installation_id: row.try_get("installation_id")?,
                    })
                })
                .collect()
        }

        /// A repository's suggestions with feedback made since `since` whose `category` (or,
        /// when `by_kind`, `kind`) is `value`: newest first, at most `limit`, each with its
        /// events. Two queries whatever the number of suggestions.
        async fn recent_feedback(
            &self,
            repo: &str,
            by_kind: bool,
            value: &str,
            since: DateTime<Utc>,
            limit: i64,
        ) -> Result<Vec<(Suggestion, Vec<FeedbackEvent>)>, StoreError> {
            // The same selection twice: the suggestions, then their events.
            const BY_CATEGORY: &str = "SELECT s.* FROM suggestions s WHERE s.repo = $1 \
                 AND s.category = $2 AND s.created_at >= $3 \
                 AND EXISTS (SELECT 1 FROM feedback_events e WHERE e.suggestion_id = s.id) \
                 ORDER BY s.id DESC LIMIT $4";
            const BY_KIND: &str = "SELECT s.* FROM suggestions s WHERE s.repo = $1 \
                 AND s.kind = $2 AND s.created_at >= $3 \
                 AND EXISTS (SELECT 1 FROM feedback_events e WHERE e.suggestion_id = s.id) \
                 ORDER BY s.id DESC LIMIT $4";
            const EVENTS_BY_CATEGORY: &str = "SELECT e.* FROM feedback_events e WHERE e.suggestion_id IN ( \
                 SELECT s.id FROM suggestions s WHERE s.repo = $1 \
                 AND s.category = $2 AND s.created_at >= $3 \
                 AND EXISTS (SELECT 1 FROM feedback_events f WHERE f.suggestion_id = s.id) \
                 ORDER BY s.id DESC LIMIT $4) ORDER BY e.suggestion_id, e.occurred_at, e.id";
            const EVENTS_BY_KIND: &str = "SELECT e.* FROM feedback_events e WHERE e.suggestion_id IN ( \
                 SELECT s.id FROM suggestions s WHERE s.repo = $1 \
                 AND s.kind = $2 AND s.created_at >= $3 \
                 AND EXISTS (SELECT 1 FROM feedback_events f WHERE f.suggestion_id = s.id) \
                 ORDER BY s.id DESC LIMIT $4) ORDER BY e.suggestion_id, e.occurred_at, e.id";
            let (suggestions_sql, events_sql) = if by_kind {
                (BY_KIND, EVENTS_BY_KIND)
            } else {
                (BY_CATEGORY, EVENTS_BY_CATEGORY)
            };
            let rows = sqlx::query(suggestions_sql)
                .bind(repo)
                .bind(value)
                .bind(Ts(since))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            let event_rows = sqlx::query(events_sql)
                .bind(repo)
                .bind(value)
                .bind(Ts(since))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            let mut events: std::collections::HashMap<SuggestionId, Vec<FeedbackEvent>> =
                std::collections::HashMap::new();
            for row in &event_rows {
                let event = feedback_event_record(row)?;
                events.entry(event.event.suggestion_id).or_default().push(event);
            }
            rows.iter()
                .map(|row| {
                    let suggestion = suggestion_record(row)?;
                    let mine = events.remove(&suggestion.id).unwrap_or_default();
                    Ok((suggestion, mine))
                })
                .collect()
        }

        pub(super) async fn recent_feedback_in_category(
            &self,
            repo: &str,
            category: &str,
            since: DateTime<Utc>,
            limit: i64,
        ) -> Result<Vec<(Suggestion, Vec<FeedbackEvent>)>, StoreError> {
            self.recent_feedback(repo, false, category, since, limit).await
        }

        pub(super) async fn recent_feedback_of_kind(
            &self,
            repo: &str,
            kind: SuggestionKind,
            since: DateTime<Utc>,
            limit: i64,
        ) -> Result<Vec<(Suggestion, Vec<FeedbackEvent>)>, StoreError> {
            self.recent_feedback(repo, true, kind.as_str(), since, limit).await
        }

        pub(super) async fn unmute_category(
            &self,
            repo: &str,
            category: &str,
            by: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO category_unmutes (repo, category, unmuted_by, unmuted_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (repo, category) DO UPDATE SET \
                 unmuted_by = excluded.unmuted_by, unmuted_at = excluded.unmuted_at",
            )
            .bind(repo)
            .bind(category)
            .bind(by)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        pub(super) async fn category_unmuted_at(
            &self,
            repo: &str,
            category: &str,
        ) -> Result<Option<DateTime<Utc>>, StoreError> {
            let row = sqlx::query(
                "SELECT unmuted_at FROM category_unmutes WHERE repo = $1 AND category = $2",
            )
            .bind(repo)
            .bind(category)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|row| Ok(row.try_get::<Ts, _>("unmuted_at")?.0)).transpose()
        }

        #[cfg(test)]
        pub(super) async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
            MIGRATOR.run_to(version, &self.pool).await?;
            Ok(())
        }

        #[cfg(test)]
        pub(super) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        #[cfg(test)]
        pub(super) async fn fetch_i64(&self, sql: &str) -> Result<i64, StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&self.pool)
                .await?;
            Ok(row.try_get(0)?)
        }

        pub(super) async fn append_feedback_event(
            &self,
            e: &NewFeedbackEvent,
            now: DateTime<Utc>,
        ) -> Result<Inserted<FeedbackEventId>, StoreError> {
            let row = sqlx::query(
                "INSERT INTO feedback_events (suggestion_id, github_id, source, action, actor, role, \
                 reason, note, human_text, occurred_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, \
                 $7, $8, $9, $10, $11) ON CONFLICT (github_id) DO NOTHING RETURNING id",
            )
            .bind(e.suggestion_id.0)
            .bind(&e.github_id)
            .bind(e.source.as_str())
            .bind(e.action.as_str())
            .bind(&e.actor)
            .bind(e.role.as_str())
            .bind(&e.reason)
            .bind(&e.note)
            .bind(&e.human_text)
            .bind(Ts(e.occurred_at))
            .bind(Ts(now))
            .fetch_optional(&self.pool)
            .await?;
            match row {
                Some(row) => Ok(Inserted::New(FeedbackEventId(row.try_get("id")?))),
                None => Ok(Inserted::Duplicate),
            }
        }

        pub(super) async fn list_feedback_events(
            &self,
            suggestion: SuggestionId,
        ) -> Result<Vec<FeedbackEvent>, StoreError> {
            let rows = sqlx::query(
                "SELECT * FROM feedback_events WHERE suggestion_id = $1 ORDER BY occurred_at, id",
            )
            .bind(suggestion.0)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(feedback_event_record).collect()
        }

        pub(super) async fn stats_report(
            &self,
            by: crate::stats::StatsBy,
            since: Option<DateTime<Utc>>,
        ) -> Result<crate::stats::StatsReport, StoreError> {
            // Shown suggestions with their events, one suggestion's rows together (the order
            // of its events does not matter to `derive_verdict`). Streamed: only the current
            // suggestion's events and the per-group sums are in memory.
            let sql = format!(
                "SELECT s.id AS s_id, s.kind AS s_kind, s.created_at AS s_created_at, \
                 {group} AS s_group, f.* FROM suggestions s \
                 LEFT JOIN reviews r ON r.id = s.review_id {model_calls}\
                 LEFT JOIN feedback_events f ON f.suggestion_id = s.id \
                 WHERE (r.github_review_id IS NOT NULL OR s.github_comment_id IS NOT NULL){since} \
                 ORDER BY s.id",
                group = by.group_sql(),
                model_calls = if by.needs_model_call() {
                    "LEFT JOIN model_calls m ON m.id = s.model_call_id "
                } else {
                    ""
                },
                since = if since.is_some() { " AND s.created_at >= $1" } else { "" },
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(since) = since {
                query = query.bind(Ts(since));
            }
            let mut rows = query.fetch(&self.pool);
            let mut totals = crate::stats::Aggregator::new(by);
            // The suggestion being read (id, kind, creation time, group) and its events.
            let mut current: Option<(i64, SuggestionKind, DateTime<Utc>, String)> = None;
            let mut events: Vec<FeedbackEvent> = Vec::new();
            while let Some(row) = futures_util::TryStreamExt::try_next(&mut rows).await? {
                let id: i64 = row.try_get("s_id")?;
                if current.as_ref().is_none_or(|(held, ..)| *held != id) {
                    if let Some((_, kind, created_at, group)) = current.take() {
                        let verdict = crate::verdict::derive_verdict(kind, created_at, &events);
                        totals.add(&group, &verdict);
                    }
                    events.clear();
                    current = Some((
                        id,
                        SuggestionKind::parse(&row.try_get::<String, _>("s_kind")?)?,
                        row.try_get::<Ts, _>("s_created_at")?.0,
                        row.try_get("s_group")?,
                    ));
                }
                if row.try_get::<Option<i64>, _>("id")?.is_some() {
                    events.push(feedback_event_record(&row)?);
                }
            }
            if let Some((_, kind, created_at, group)) = current {
                let verdict = crate::verdict::derive_verdict(kind, created_at, &events);
                totals.add(&group, &verdict);
            }
            Ok(totals.finish())
        }

        pub(super) async fn count_export_calls(
            &self,
            filter: &crate::export::source::ExportFilter,
        ) -> Result<i64, StoreError> {
            let (conditions, values) = filter.call_conditions(1);
            let sql = format!("SELECT COUNT(*) FROM model_calls m WHERE 1 = 1{conditions}");
            let row = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), &values)
                .fetch_one(&self.pool)
                .await?;
            Ok(row.try_get(0)?)
        }

        /// Streams shown findings of `kind` (built-in and model ones) with their verdicts, in
        /// id order; `filter`'s repository and time bounds apply to the suggestion.
        pub(super) fn export_suggestions(
            &self,
            kind: SuggestionKind,
            filter: &crate::export::source::ExportFilter,
        ) -> crate::export::source::ExportStream<(Suggestion, crate::verdict::Verdict)> {
            let filter = filter.clone();
            spawn_export(&self.pool, move |pool, tx| async move {
                Self::read_export_suggestions(&pool, kind, &filter, &tx).await
            })
        }

        async fn read_export_suggestions(
            pool: &sqlx::Pool<$db>,
            kind: SuggestionKind,
            filter: &crate::export::source::ExportFilter,
            tx: &tokio::sync::mpsc::Sender<
                Result<Vec<(Suggestion, crate::verdict::Verdict)>, StoreError>,
            >,
        ) -> Result<(), StoreError> {
            use crate::export::source::EXPORT_CHUNK;
            use futures_util::TryStreamExt;
            let (conditions, values) = filter.suggestion_conditions(2);
            let shown = "(r.github_review_id IS NOT NULL OR s.github_comment_id IS NOT NULL)";
            let suggestions_sql = format!(
                "SELECT s.* FROM suggestions s LEFT JOIN reviews r ON r.id = s.review_id \
                 WHERE s.kind = $1{conditions} AND {shown} ORDER BY s.id"
            );
            let events_sql = format!(
                "SELECT f.* FROM suggestions s LEFT JOIN reviews r ON r.id = s.review_id \
                 JOIN feedback_events f ON f.suggestion_id = s.id \
                 WHERE s.kind = $1{conditions} AND {shown} ORDER BY s.id"
            );
            let bind = |sql: String| {
                bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(kind.as_str()), &values)
            };
            let suggestions_query = bind(suggestions_sql);
            let events_query = bind(events_sql);
            let mut suggestions = suggestions_query.fetch(pool);
            let mut events = events_query.fetch(pool);
            let mut next_event: Option<FeedbackEvent> = None;
            let mut chunk = Vec::with_capacity(EXPORT_CHUNK);
            while let Some(row) = suggestions.try_next().await? {
                let s = suggestion_record(&row)?;
                let mut own: Vec<FeedbackEvent> = Vec::new();
                loop {
                    if next_event.is_none() {
                        next_event = match events.try_next().await? {
                            Some(row) => Some(feedback_event_record(&row)?),
                            None => break,
                        };
                    }
                    let Some(event) = next_event.take_if(|e| e.event.suggestion_id.0 <= s.id.0) else {
                        break;
                    };
                    if event.event.suggestion_id == s.id {
                        own.push(event);
                    }
                }
                let verdict =
                    crate::verdict::derive_verdict(s.suggestion.kind, s.suggestion.created_at, &own);
                chunk.push((s, verdict));
                if chunk.len() == EXPORT_CHUNK
                    && tx.send(Ok(std::mem::take(&mut chunk))).await.is_err()
                {
                    return Ok(());
                }
            }
            if !chunk.is_empty() {
                let _ = tx.send(Ok(chunk)).await;
            }
            Ok(())
        }

        }
    };
}

pub(super) use shared_store_methods;

/// The decoders of the rows exports read (model calls, suggestions, feedback events), for any
/// row type with sqlx's `try_get::<T, _>(column)` shape: sqlx's rows and the direct SQLite
/// reader's (see `sqlite_export`).
///
/// Each row type gets every decoder, and each reader uses those its reads need.
macro_rules! row_records {
    ($row:ty) => {
        #[allow(dead_code)]
        fn export_call_record(row: &$row) -> Result<crate::export::source::ExportCall, StoreError> {
            Ok(crate::export::source::ExportCall {
                id: ModelCallId(row.try_get("id")?),
                prompt_id: row.try_get("prompt_id")?,
                messages: row.try_get("messages")?,
                raw_answer: row.try_get("raw_answer")?,
                status: ModelCallStatus::parse(&row.try_get::<String, _>("status")?)?,
                message_tokens: row.try_get("message_tokens")?,
                answer_tokens: crate::store::shared::answer_tokens_column(
                    row.try_get("answer_tokens")?,
                )?,
                messages_scan: row.try_get("messages_scan")?,
                suggestions: Vec::new(),
            })
        }

        #[allow(dead_code)]
        fn export_suggestion_record(
            row: &$row,
        ) -> Result<crate::export::source::SuggestionRow, StoreError> {
            Ok(crate::export::source::SuggestionRow {
                id: SuggestionId(row.try_get("id")?),
                kind: SuggestionKind::parse(&row.try_get::<String, _>("kind")?)?,
                original: row.try_get("original")?,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
            })
        }

        #[allow(dead_code)]
        fn feedback_event_record(row: &$row) -> Result<FeedbackEvent, StoreError> {
            Ok(FeedbackEvent {
                id: FeedbackEventId(row.try_get("id")?),
                recorded_at: row.try_get::<Ts, _>("recorded_at")?.0,
                event: NewFeedbackEvent {
                    suggestion_id: SuggestionId(row.try_get("suggestion_id")?),
                    github_id: row.try_get("github_id")?,
                    source: FeedbackSource::parse(&row.try_get::<String, _>("source")?)?,
                    action: FeedbackAction::parse(&row.try_get::<String, _>("action")?)?,
                    actor: row.try_get("actor")?,
                    role: FeedbackRole::parse(&row.try_get::<String, _>("role")?)?,
                    reason: row.try_get("reason")?,
                    note: row.try_get("note")?,
                    human_text: row.try_get("human_text")?,
                    occurred_at: row.try_get::<Ts, _>("occurred_at")?.0,
                },
            })
        }

        #[allow(dead_code)]
        fn model_call_record(row: &$row) -> Result<ModelCall, StoreError> {
            Ok(ModelCall {
                id: ModelCallId(row.try_get("id")?),
                call: NewModelCall {
                    installation_id: row.try_get("installation_id")?,
                    repo: row.try_get("repo")?,
                    pr: row.try_get("pr")?,
                    head_sha: row.try_get("head_sha")?,
                    job_id: row.try_get::<Option<i64>, _>("job_id")?.map(JobId),
                    analysis: row.try_get("analysis")?,
                    prompt_id: row.try_get("prompt_id")?,
                    prompt_version: row.try_get("prompt_version")?,
                    provider: row.try_get("provider")?,
                    model: row.try_get("model")?,
                    deployment: row.try_get("deployment")?,
                    messages: row.try_get("messages")?,
                    response_format: row.try_get("response_format")?,
                    raw_answer: row.try_get("raw_answer")?,
                    finish_reason: row.try_get("finish_reason")?,
                    status: ModelCallStatus::parse(&row.try_get::<String, _>("status")?)?,
                    error: row.try_get("error")?,
                    tokens_in: row.try_get("tokens_in")?,
                    tokens_out: row.try_get("tokens_out")?,
                    message_tokens: row.try_get("message_tokens")?,
                    answer_tokens: crate::store::shared::answer_tokens_column(
                        row.try_get("answer_tokens")?,
                    )?,
                    messages_scan: row.try_get("messages_scan")?,
                    latency_ms: row.try_get("latency_ms")?,
                    attempt: row.try_get("attempt")?,
                    created_at: row.try_get::<Ts, _>("created_at")?.0,
                },
            })
        }

        #[allow(dead_code)]
        fn suggestion_record(row: &$row) -> Result<Suggestion, StoreError> {
            Ok(Suggestion {
                id: SuggestionId(row.try_get("id")?),
                github_comment_id: row.try_get("github_comment_id")?,
                suggestion: NewSuggestion {
                    model_call_id: row
                        .try_get::<Option<i64>, _>("model_call_id")?
                        .map(ModelCallId),
                    review_id: row.try_get::<Option<i64>, _>("review_id")?.map(ReviewId),
                    repo: row.try_get("repo")?,
                    pr: row.try_get("pr")?,
                    head_sha: row.try_get("head_sha")?,
                    kind: SuggestionKind::parse(&row.try_get::<String, _>("kind")?)?,
                    source: SuggestionSource::parse(&row.try_get::<String, _>("source")?)?,
                    category: row.try_get("category")?,
                    path: row.try_get("path")?,
                    line: row.try_get("line")?,
                    anchor: Anchor::parse(&row.try_get::<String, _>("anchor")?)?,
                    severity: row.try_get("severity")?,
                    confidence: row.try_get("confidence")?,
                    cwe: row.try_get("cwe")?,
                    fingerprint: row.try_get("fingerprint")?,
                    title: row.try_get("title")?,
                    body: row.try_get("body")?,
                    original: row.try_get("original")?,
                    created_at: row.try_get::<Ts, _>("created_at")?.0,
                },
            })
        }
    };
}

pub(super) use row_records;

/// A model call's stored `answer_tokens`, read.
pub(super) fn answer_tokens_column(
    text: Option<String>,
) -> Result<Option<crate::model::AnswerTokens>, crate::StoreError> {
    text.map(|text| {
        crate::model::AnswerTokens::parse(&text)
            .map_err(|e| crate::StoreError::Corrupt(format!("answer_tokens {text:?}: {e}")))
    })
    .transpose()
}

/// Where an export's row wrapper looks for a column first: right after the one last read, as
/// the decoders read in select order. Checking that guess by name is cheaper than a lookup by
/// name (SQLite asks for every column's name; sqlx hashes it), which showed in profiles at a
/// million rows.
pub(super) struct NextColumn(std::cell::Cell<usize>);

impl NextColumn {
    pub(super) fn new() -> Self {
        Self(std::cell::Cell::new(0))
    }

    /// The index of column `name`: the guess when `name_at` says it is there, else what
    /// `find` says.
    pub(super) fn index<'a, E>(
        &self,
        name: &str,
        name_at: impl FnOnce(usize) -> Option<&'a str>,
        find: impl FnOnce() -> Result<usize, E>,
    ) -> Result<usize, E> {
        let guess = self.0.get();
        let index = match name_at(guess) {
            Some(at) if at == name => guess,
            _ => find()?,
        };
        self.0.set(index + 1);
        Ok(index)
    }
}
