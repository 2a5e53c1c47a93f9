// A real OpenID Connect provider for the test suite, on 127.0.0.1 only.
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma list).
// Any login name signs in through the development login page; its claims are derived from it.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: process.env.REDIRECT_URIS.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'picture'],
  },
  // Distinct from the blog's cookie names on the same host.
  cookies: { names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_resume' },
             keys: ['test-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@oidc.example`,
          email_verified: true,
          name: `${id[0].toUpperCase()}${id.slice(1)} Tester`,
          picture: `${issuer}/avatar/${id}.svg`,
        };
      },
    };
  },
});

// Avatars for the `picture` claim, so the blog can show one.
provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/avatar/')) {
    ctx.type = 'image/svg+xml';
    ctx.body = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="20" fill="#2271b1"/></svg>';
    return;
  }
  await next();
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
