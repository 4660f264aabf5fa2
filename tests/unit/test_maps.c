// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The map library: creation, reopening, ordered service writes, map-full. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "testutil.h"

TEST(maps_are_pinned_and_reopened_with_their_size)
{
	struct bpfnet_map_sizes sizes = {};
	struct bpfnet_maps m2;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/sized", f->bpffs);
	sizes.max_entries[BPFNET_M_SVC] = 1234;
	sizes.max_entries[BPFNET_M_CT_TCP] = 4096;
	ASSERT_OK(bpfnet_maps_open(&m2, dir, &sizes, BPFNET_MAPS_CREATE), "create sized");
	ASSERT_EQ(m2.max_entries[BPFNET_M_SVC], 1234, "svc size");
	ASSERT_EQ(m2.max_entries[BPFNET_M_CT_TCP], 4096, "ct size");
	ASSERT_EQ(m2.max_entries[BPFNET_M_BACKEND], BPFNET_DEFAULT_BACKEND_MAX, "default size");
	for (int i = 0; i < BPFNET_M_COUNT; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/%s", dir, bpfnet_map_name(i));
		ASSERT_OK(access(p, F_OK), p);
		ASSERT_EQ(m2.created[i], true, "created by this open (the agent adopts nothing)");
	}
	bpfnet_maps_close(&m2);

	/* reopening without CREATE finds the pins and their sizes */
	ASSERT_OK(bpfnet_maps_open(&m2, dir, NULL, 0), "reopen");
	ASSERT_EQ(m2.max_entries[BPFNET_M_SVC], 1234, "svc size survives");
	ASSERT_EQ(m2.created[BPFNET_M_BACKEND], false, "pinned, so not created");
	bpfnet_maps_close(&m2);
	ASSERT_OK(bpfnet_maps_unpin(dir), "unpin");
	ASSERT_EQ(bpfnet_maps_open(&m2, dir, NULL, 0), -ENOENT, "gone after unpin");
}

TEST(maps_open_refuses_non_bpffs_and_wrong_layout)
{
	struct bpfnet_maps m2;
	char dir[] = "/tmp/bpfnet-notbpffs-XXXXXX", path[PATH_MAX], buf[256];
	int fd, err;

	ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp");
	err = bpfnet_maps_open(&m2, dir, NULL, BPFNET_MAPS_CREATE);
	rmdir(dir);
	ASSERT_EQ(err, -ENOTSUP, "plain directory");

	/* a pin of the right name and the wrong shape */
	snprintf(path, sizeof(path), "%s/bad", f->bpffs);
	ASSERT_OK(mkdir(path, 0700) ? -errno : 0, "mkdir");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "svc_v1", 4, 4, 16, NULL);
	ASSERT_TRUE(fd >= 0, "create odd map");
	snprintf(path, sizeof(path), "%s/bad/svc_v1", f->bpffs);
	ASSERT_OK(bpf_obj_pin(fd, path), "pin odd map");
	close(fd);
	snprintf(path, sizeof(path), "%s/bad", f->bpffs);
	err = bpfnet_maps_open(&m2, path, NULL, BPFNET_MAPS_CREATE);
	ASSERT_EQ(err, -EPROTO, "incompatible pin refused");
	ASSERT_TRUE(strstr(bpfnet_maps_strerror(&m2, err, buf, sizeof(buf)), "svc_v1") != NULL,
		    "error names the map");
}

TEST(service_upsert_flips_slot_generation)
{
	struct bpfnet_svc_key key = svc_key(VIP, 80, IPPROTO_TCP);
	struct bpfnet_svc_value val;
	__u32 ids[8];

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 3, 8080, 100);
	ASSERT_EQ(bpfnet_service_get(&f->maps, &key, &val, ids, 8), 3, "3 backends");
	ASSERT_EQ(val.slot_gen, 0, "first generation");
	ASSERT_EQ(ids[0], 101, "slot 0");
	ASSERT_EQ(ids[2], 103, "slot 2");

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 2, 8080, 200);
	ASSERT_EQ(bpfnet_service_get(&f->maps, &key, &val, ids, 8), 2, "2 backends");
	ASSERT_EQ(val.slot_gen, 1, "flipped");
	ASSERT_EQ(ids[0], 201, "new slot 0");
	ASSERT_EQ(map_entries(f, BPFNET_M_SLOT), 2, "old generation removed");
	ASSERT_EQ(map_entries(f, BPFNET_M_REVNAT), 1, "one revnat entry");

	ASSERT_OK(bpfnet_service_delete(&f->maps, &key), "delete");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC), 0, "service gone");
	ASSERT_EQ(map_entries(f, BPFNET_M_SLOT), 0, "slots gone");
	ASSERT_EQ(map_entries(f, BPFNET_M_REVNAT), 0, "revnat gone");
	ASSERT_EQ(map_entries(f, BPFNET_M_BACKEND), 5, "backends are the caller's to remove");
	ASSERT_EQ(bpfnet_service_delete(&f->maps, &key), -ENOENT, "second delete");
}

/* A full service map, or a full service-address set, refuses the new
 * service whole: no slot, reverse NAT or address count left behind. */
TEST(service_map_full_is_reported_and_harmless)
{
	static const struct {
		enum bpfnet_map_id map;
		const char *name;
	} cases[] = { { BPFNET_M_SVC, "svc_v1" }, { BPFNET_M_VIP, "vip_v1" } };
	struct bpfnet_backend_entry be = { .id = 1, .be = { .addr = htonl(BACKEND(1)),
							    .port = htons(80) } };
	struct bpfnet_service_spec spec = { .n_backends = 1, .backends = &be };

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct bpfnet_svc_value val;
		struct bpfnet_maps m2;
		char buf[128], name[16];
		__u32 ids[1], n = 0;
		int err;

		snprintf(name, sizeof(name), "small%zu", c);
		small_maps_open(f, &m2, name, cases[c].map, 4);
		for (int i = 0; i < 4; i++) {
			struct bpfnet_svc_key k = svc_key(VIP + i, 80, IPPROTO_TCP);

			spec.id = 10 + i;
			ASSERT_OK(bpfnet_service_upsert(&m2, &k, &spec), "fill");
		}
		struct bpfnet_svc_key k5 = svc_key(VIP + 4, 80, IPPROTO_TCP);
		spec.id = 14;
		err = bpfnet_service_upsert(&m2, &k5, &spec);
		bpfnet_maps_strerror(&m2, err, buf, sizeof(buf));
		ASSERT_EQ(err, -ENOSPC, "map full");
		ASSERT_TRUE(strstr(buf, cases[c].name) && strstr(buf, "full"),
			    "message names the full map");
		/* the failed service left nothing behind, the others serve */
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_SLOT, &n), "count");
		ASSERT_EQ(n, 4, "no stray slots");
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_REVNAT, &n), "count");
		ASSERT_EQ(n, 4, "no stray revnat");
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_VIP, &n), "count");
		ASSERT_EQ(n, 4, "no stray address");
		ASSERT_EQ(bpfnet_vip_get(&m2, k5.addr, &n), -ENOENT, "its address is not counted");
		struct bpfnet_svc_key k0 = svc_key(VIP, 80, IPPROTO_TCP);
		ASSERT_EQ(bpfnet_service_get(&m2, &k0, &val, ids, 1), 1, "old service intact");
		bpfnet_maps_close(&m2);
	}
}

static __u32 vip_services(struct fixture *f, uint32_t addr)
{
	__u32 n = 0;
	int err = bpfnet_vip_get(&f->maps, htonl(addr), &n);

	if (err && err != -ENOENT)
		FAIL("vip_get: %s", strerror(-err));
	return n;
}

/* The service-address set counts the service entries of each address,
 * whichever way they were written, and a recount repairs it. */
TEST(service_address_set_counts_service_entries)
{
	const uint32_t vip2 = VIP + 1, vip3 = VIP + 2, stray = IP4(10, 96, 9, 9);
	struct bpfnet_svc_key k80 = svc_key(VIP, 80, IPPROTO_TCP);
	struct bpfnet_svc_key k53 = svc_key(VIP, 53, IPPROTO_UDP);
	struct bpfnet_batch *b;

	ASSERT_OK(bpfnet_vip_recount(&f->maps, NULL, 0), "recount of nothing");
	ASSERT_EQ(map_entries(f, BPFNET_M_VIP), 0, "nothing");
	svc_set(f, VIP, 80, IPPROTO_TCP, 1, 2, 8080, 100);
	svc_set(f, VIP, 53, IPPROTO_UDP, 2, 2, 5353, 200);
	svc_set(f, vip2, 80, IPPROTO_TCP, 3, 1, 8080, 300);
	ASSERT_EQ(vip_services(f, VIP), 2, "two ports on one address");
	ASSERT_EQ(vip_services(f, vip2), 1, "one");
	svc_set(f, VIP, 80, IPPROTO_TCP, 1, 3, 8080, 100);
	ASSERT_EQ(vip_services(f, VIP), 2, "an update is no new entry");

	ASSERT_OK(bpfnet_service_delete(&f->maps, &k80), "delete");
	ASSERT_EQ(vip_services(f, VIP), 1, "one left");
	ASSERT_OK(bpfnet_service_delete(&f->maps, &k53), "delete");
	ASSERT_EQ(map_entries(f, BPFNET_M_VIP), 1, "the address left the set");

	/* a batch counts an address once per service, on top of what it had */
	b = bpfnet_batch_new(&f->maps);
	ASSERT_TRUE(b != NULL, "batch");
	for (uint16_t port = 1; port <= 4; port++) {
		struct bpfnet_backend_entry be = {
			.id = 400 + port, .be = { .addr = htonl(BACKEND(port)), .port = htons(80) } };
		struct bpfnet_service_spec spec = { .id = 10 + port, .n_backends = 1,
						    .backends = &be };
		struct bpfnet_svc_key k = svc_key(port == 4 ? vip2 : vip3, port, IPPROTO_TCP);

		ASSERT_OK(bpfnet_batch_add_service(b, &k, &spec, NULL, NULL), "stage");
	}
	ASSERT_OK(bpfnet_batch_flush(b, NULL, NULL), "flush");
	bpfnet_batch_free(b);
	ASSERT_EQ(vip_services(f, vip3), 3, "three batched services");
	ASSERT_EQ(vip_services(f, vip2), 2, "one upserted, one batched");

	/* an agent that died between writes: wrong, stray and missing counts */
	struct bpfnet_vip wrong = { .services = 7 }, one = { .services = 1 };
	__be32 a2 = htonl(vip2), a3 = htonl(vip3), as = htonl(stray);
	ASSERT_OK(bpf_map_update_elem(f->maps.fd[BPFNET_M_VIP], &a2, &wrong, BPF_ANY), "corrupt");
	ASSERT_OK(bpf_map_update_elem(f->maps.fd[BPFNET_M_VIP], &as, &one, BPF_ANY), "stray");
	ASSERT_OK(bpf_map_delete_elem(f->maps.fd[BPFNET_M_VIP], &a3), "lose one");
	__be32 live[] = { a2, a2, a3, a3, a3 }; /* the service entries' addresses */
	ASSERT_OK(bpfnet_vip_recount(&f->maps, live, 5), "recount");
	ASSERT_EQ(vip_services(f, vip2), 2, "recounted");
	ASSERT_EQ(vip_services(f, vip3), 3, "restored");
	ASSERT_EQ(vip_services(f, stray), 0, "stray address gone");
	ASSERT_EQ(map_entries(f, BPFNET_M_VIP), 2, "exactly the service addresses");
}

static int collect_backend_ids(const void *key, const void *val, void *arg)
{
	__u32 *ids = arg;

	(void)val;
	ids[ids[0] + 1] = *(const __u32 *)key;
	ids[0]++;
	return ids[0] > 8;
}

/* Backends live in an array indexed by id: ids 1..capacity, an id past it is
 * map-full, a deleted id reads as absent and is skipped by every walk. */
TEST(backend_ids_index_an_array_of_the_configured_capacity)
{
	struct bpfnet_backend_entry be = { .be = { .addr = htonl(BACKEND(1)), .port = htons(80),
						   .proto = IPPROTO_TCP } };
	struct bpfnet_backend got;
	struct bpfnet_maps m2;
	char dir[PATH_MAX], buf[128];
	__u32 n, ids[10] = {};

	small_maps_open(f, &m2, "be", BPFNET_M_BACKEND, 4);
	ASSERT_EQ(m2.max_entries[BPFNET_M_BACKEND], 4, "capacity");
	for (be.id = 1; be.id <= 4; be.id++)
		ASSERT_OK(bpfnet_backend_upsert(&m2, &be), "ids 1-4 fit");
	be.id = 5;
	ASSERT_EQ(bpfnet_backend_upsert(&m2, &be), -ENOSPC, "id 5 is past the array");
	bpfnet_maps_strerror(&m2, -ENOSPC, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "backend_v2") && strstr(buf, "full"), "message names the map");
	be.id = 0;
	ASSERT_EQ(bpfnet_backend_upsert(&m2, &be), -EINVAL, "id 0 is no backend");
	be.id = 1;
	be.be.addr = 0;
	ASSERT_EQ(bpfnet_backend_upsert(&m2, &be), -EINVAL, "address 0 is no backend");

	ASSERT_OK(bpfnet_backend_delete(&m2, 2), "delete 2");
	ASSERT_OK(bpfnet_backend_delete(&m2, 3), "delete 3");
	ASSERT_OK(bpfnet_backend_delete(&m2, 9), "deleting past the array is a no-op");
	ASSERT_EQ(bpfnet_backend_get(&m2, 2, &got), -ENOENT, "deleted reads as absent");
	ASSERT_EQ(bpfnet_backend_get(&m2, 0, &got), -ENOENT, "id 0 reads as absent");
	ASSERT_EQ(bpfnet_backend_get(&m2, 5, &got), -ENOENT, "past the array reads as absent");
	ASSERT_OK(bpfnet_backend_get(&m2, 4, &got), "4 is there");
	ASSERT_EQ(got.addr, htonl(BACKEND(1)), "4's address");
	ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_BACKEND, &n), "count");
	ASSERT_EQ(n, 2, "two backends");
	ASSERT_OK(bpfnet_map_iterate(&m2, BPFNET_M_BACKEND, collect_backend_ids, ids), "walk");
	ASSERT_EQ(ids[0], 2, "the walk sees two");
	ASSERT_TRUE(ids[1] == 1 && ids[2] == 4, "ids 1 and 4");
	bpfnet_maps_close(&m2);

	/* reopened, the pin keeps its capacity */
	snprintf(dir, sizeof(dir), "%s/be", f->bpffs);
	ASSERT_OK(bpfnet_maps_open(&m2, dir, NULL, 0), "reopen");
	ASSERT_EQ(m2.max_entries[BPFNET_M_BACKEND], 4, "capacity of the pin");
	bpfnet_maps_close(&m2);
}

/* Batched creation writes exactly what single upserts write. */
TEST(batch_writes_services_like_upserts)
{
	struct bpfnet_batch *b = bpfnet_batch_new(&f->maps);
	struct bpfnet_backend_entry be[3];
	struct bpfnet_svc_value val;
	char name[BPFNET_SVC_NAME_LEN];
	__u32 ids[4];

	ASSERT_TRUE(b != NULL, "batch");
	for (int s = 0; s < 50; s++) {
		struct bpfnet_svc_key k = svc_key(VIP + (uint32_t)s, 80, IPPROTO_TCP);
		struct bpfnet_service_spec spec = { .id = 100 + (__u32)s, .n_backends = 3,
						    .backends = be, .flags = BPFNET_SVC_F_CLUSTER_IP };
		char nm[32];

		for (int i = 0; i < 3; i++)
			be[i] = (struct bpfnet_backend_entry){
				.id = 1000 + (__u32)(s * 3 + i),
				.be = { .addr = htonl(BACKEND(s * 3 + i)), .port = htons(8080),
					.proto = IPPROTO_TCP } };
		snprintf(nm, sizeof(nm), "default/s%d:http", s);
		ASSERT_OK(bpfnet_batch_add_service(b, &k, &spec, nm, NULL), "stage");
	}
	ASSERT_EQ(bpfnet_batch_size(b), 50, "staged");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC), 0, "nothing written before the flush");
	ASSERT_OK(bpfnet_batch_flush(b, NULL, NULL), "flush");
	ASSERT_EQ(bpfnet_batch_size(b), 0, "emptied");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC), 50, "services");
	ASSERT_EQ(map_entries(f, BPFNET_M_SLOT), 150, "slots");
	ASSERT_EQ(map_entries(f, BPFNET_M_BACKEND), 150, "backends");
	ASSERT_EQ(map_entries(f, BPFNET_M_REVNAT), 50, "revnat");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC_NAME), 50, "names");

	struct bpfnet_svc_key k7 = svc_key(VIP + 7, 80, IPPROTO_TCP);
	ASSERT_EQ(bpfnet_service_get(&f->maps, &k7, &val, ids, 4), 3, "service 7");
	ASSERT_EQ(val.id, 107, "id");
	ASSERT_EQ(val.slot_gen, 0, "generation 0");
	ASSERT_EQ(val.flags, BPFNET_SVC_F_CLUSTER_IP, "flags");
	ASSERT_EQ(ids[0], 1021, "slot 0");
	ASSERT_EQ(ids[2], 1023, "slot 2");
	bpfnet_service_name_get(&f->maps, 107, name, sizeof(name));
	ASSERT_TRUE(!strcmp(name, "default/s7:http"), "name");
	/* a later single upsert flips the generation as usual */
	struct bpfnet_service_spec spec = { .id = 107, .n_backends = 1, .backends = be };
	ASSERT_OK(bpfnet_service_upsert(&f->maps, &k7, &spec), "upsert");
	ASSERT_EQ(bpfnet_service_get(&f->maps, &k7, &val, ids, 4), 1, "one backend");
	ASSERT_EQ(val.slot_gen, 1, "flipped");
	ASSERT_EQ(map_entries(f, BPFNET_M_SLOT), 148, "old generation removed");

	/* a packet to a batched service is balanced onto its backends */
	struct tc_result r;
	struct pkt_buf in;
	struct pkt_spec ps = { .saddr = CLIENT, .daddr = VIP + 9, .sport = 40000, .dport = 80,
			       .proto = IPPROTO_TCP, .tcp_flags = 0x02 };
	pkt_build(&in, &ps);
	run_tc(f, &in, &r);
	uint32_t d = pkt_daddr(&r.out);
	ASSERT_TRUE(d >= BACKEND(27) && d <= BACKEND(29), "DNAT to one of service 9's backends");
	bpfnet_batch_free(b);
}

struct batch_failures {
	int n, err;
	void *cookie[8];
	char msg[128];
	struct bpfnet_maps *m;
};

static void note_failure(void *cookie, int err, void *arg)
{
	struct batch_failures *bf = arg;

	if (bf->n < 8)
		bf->cookie[bf->n] = cookie;
	bf->n++;
	bf->err = err;
	bpfnet_maps_strerror(bf->m, err, bf->msg, sizeof(bf->msg));
}

/* A full map fails exactly the services that do not fit, names the map,
 * and leaves neither their slots, reverse NAT and names nor harm to others. */
TEST(batch_map_full_fails_only_what_does_not_fit)
{
	static const struct {
		enum bpfnet_map_id map;
		__u32 size;
		const char *name;
	} cases[] = {
		{ BPFNET_M_SVC, 3, "svc_v1" },
		{ BPFNET_M_BACKEND, 6, "backend_v2" },
		{ BPFNET_M_SLOT, 6, "slot_v1" },
		{ BPFNET_M_VIP, 3, "vip_v1" },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct batch_failures bf = {};
		struct bpfnet_backend_entry be[2];
		struct bpfnet_maps m2;
		struct bpfnet_batch *b;
		char name[16];
		__u32 n = 0;
		int tags[5];

		snprintf(name, sizeof(name), "full%zu", c);
		small_maps_open(f, &m2, name, cases[c].map, cases[c].size);
		bf.m = &m2;
		b = bpfnet_batch_new(&m2);
		ASSERT_TRUE(b != NULL, "batch");
		for (int s = 0; s < 5; s++) {
			struct bpfnet_svc_key k = svc_key(VIP + (uint32_t)s, 80, IPPROTO_TCP);
			struct bpfnet_service_spec spec = { .id = 10 + (__u32)s, .n_backends = 2,
							    .backends = be };

			for (int i = 0; i < 2; i++)
				be[i] = (struct bpfnet_backend_entry){
					.id = 1 + (__u32)(s * 2 + i), /* 7.. do not fit 6 */
					.be = { .addr = htonl(BACKEND(s * 2 + i)), .port = htons(80) } };
			tags[s] = s;
			ASSERT_OK(bpfnet_batch_add_service(b, &k, &spec, "x", &tags[s]), "stage");
		}
		ASSERT_EQ(bpfnet_batch_flush(b, note_failure, &bf), -ENOSPC, "first error returned");
		ASSERT_EQ(bf.n, 2, "the two that do not fit fail");
		ASSERT_TRUE(bf.cookie[0] == &tags[3] && bf.cookie[1] == &tags[4],
			    "and they are the last two");
		ASSERT_TRUE(strstr(bf.msg, cases[c].name) != NULL, "message names the full map");
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_SVC, &n), "count");
		ASSERT_EQ(n, 3, "three services");
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_SLOT, &n), "count");
		ASSERT_EQ(n, 6, "only their slots");
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_REVNAT, &n), "count");
		ASSERT_EQ(n, 3, "only their reverse NAT");
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_SVC_NAME, &n), "count");
		ASSERT_EQ(n, 3, "only their names");
		ASSERT_OK(bpfnet_map_count(&m2, BPFNET_M_VIP, &n), "count");
		ASSERT_EQ(n, 3, "only their addresses");
		for (int s = 0; s < 3; s++) {
			struct bpfnet_svc_key k = svc_key(VIP + (uint32_t)s, 80, IPPROTO_TCP);
			struct bpfnet_svc_value val;
			struct bpfnet_backend got;
			__u32 ids[2];

			ASSERT_EQ(bpfnet_service_get(&m2, &k, &val, ids, 2), 2, "served");
			ASSERT_OK(bpfnet_backend_get(&m2, ids[1], &got),
				  "its backends are there");
		}
		bpfnet_batch_free(b);
		bpfnet_maps_close(&m2);
	}
}

TEST(service_upsert_rejects_bad_specs)
{
	struct bpfnet_svc_key key = svc_key(VIP, 80, IPPROTO_TCP);
	struct bpfnet_service_spec spec = { .id = 0 };

	ASSERT_EQ(bpfnet_service_upsert(&f->maps, &key, &spec), -EINVAL, "id 0");
	spec.id = 1;
	spec.n_backends = 2;
	ASSERT_EQ(bpfnet_service_upsert(&f->maps, &key, &spec), -EINVAL, "no backend array");
	/* a backend at 0.0.0.0 would read as no backend at all */
	struct bpfnet_backend_entry nowhere[1] = { { .id = 1 } };
	struct bpfnet_batch *b = bpfnet_batch_new(&f->maps);

	spec.n_backends = 1;
	spec.backends = nowhere;
	ASSERT_EQ(bpfnet_service_upsert(&f->maps, &key, &spec), -EINVAL, "backend address 0");
	ASSERT_TRUE(b != NULL, "batch");
	ASSERT_EQ(bpfnet_batch_add_service(b, &key, &spec, "x", NULL), -EINVAL,
		  "backend address 0, batched");
	bpfnet_batch_free(b);
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC), 0, "nothing written");
	ASSERT_EQ(map_entries(f, BPFNET_M_BACKEND), 0, "no backend written");
}

/* The packet path never sees a half-written service: a tight loop of
 * packets runs while another thread keeps swapping between two backend
 * sets; every packet must land on a member of one of the two sets. */
#include <pthread.h>
struct churn { struct fixture *f; volatile int stop; int err; };

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	struct bpfnet_svc_key key = svc_key(VIP, 80, IPPROTO_TCP);
	struct bpfnet_backend_entry sets[2][3];

	for (int s = 0; s < 2; s++)
		for (int i = 0; i < 3; i++) {
			sets[s][i].id = 100 + s * 10 + i;
			sets[s][i].be.addr = htonl(BACKEND(s * 10 + i + 1));
			sets[s][i].be.port = htons(8080);
			sets[s][i].be.proto = IPPROTO_TCP;
			sets[s][i].be.state = 0;
		}
	for (int n = 0; !c->stop; n++) {
		struct bpfnet_service_spec spec = { .id = 7, .n_backends = 3 - (n & 1),
						    .backends = sets[n & 1] };
		c->err = bpfnet_service_upsert(&c->f->maps, &key, &spec);
		if (c->err)
			break;
	}
	return NULL;
}

TEST(packets_never_see_a_half_written_service)
{
	struct churn c = { .f = f };
	struct tc_result r;
	struct pkt_buf in;
	pthread_t t;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 3, 8080, 99);
	ASSERT_OK(pthread_create(&t, NULL, churn_thread, &c), "thread");
	for (int i = 0; i < 20000; i++) {
		struct pkt_spec s = {
			.saddr = CLIENT, .daddr = VIP, .sport = (uint16_t)(1024 + i % 60000),
			.dport = 80, .proto = IPPROTO_TCP, .tcp_flags = 0x02,
		};
		pkt_build(&in, &s);
		run_tc(f, &in, &r);
		uint32_t d = pkt_daddr(&r.out);
		if (r.retval != 0 || !((d >= BACKEND(1) && d <= BACKEND(3)) ||
				       (d >= BACKEND(11) && d <= BACKEND(12)))) {
			c.stop = 1;
			pthread_join(t, NULL);
			FAIL("packet %d: verdict %d, destination %08x", i, r.retval, d);
		}
	}
	c.stop = 1;
	pthread_join(t, NULL);
	ASSERT_OK(c.err, "writer");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_BACKEND_MISSING), 0, "no slot misses dropped");
}

/* ct flush deletes only entries that still match when it deletes them: a
 * tuple the datapath reused meanwhile (a reopened connection to another
 * backend) must keep its entry. The match callback, on its second call,
 * rewrites the entry it was shown first (already collected), as the
 * datapath would. */
struct reuse_ctx {
	struct fixture *f;
	struct bpfnet_ct_key first;
	int calls;
};

static bool names_backend_7(const struct bpfnet_ct_key *k, const struct bpfnet_ct_value *v,
			    void *arg)
{
	struct reuse_ctx *c = arg;
	struct bpfnet_ct_value moved = { .backend_id = 8, .svc_id = 1 };

	if (c->calls == 0)
		c->first = *k;
	else if (c->calls == 1)
		bpf_map_update_elem(c->f->maps.fd[BPFNET_M_CT_TCP], &c->first, &moved, BPF_EXIST);
	c->calls++;
	return v->backend_id == 7;
}

TEST(ct_flush_spares_entries_reused_during_the_walk)
{
	struct bpfnet_ct_key a = { .saddr = 1, .daddr = 2, .sport = 3, .dport = 4, .proto = 6 };
	struct bpfnet_ct_key b = a;
	struct bpfnet_ct_value to7 = { .backend_id = 7, .svc_id = 1 }, got;
	struct reuse_ctx ctx = { .f = f };
	__u32 deleted = 0;

	b.sport = 5;
	ASSERT_OK(bpf_map_update_elem(f->maps.fd[BPFNET_M_CT_TCP], &a, &to7, BPF_ANY), "a -> 7");
	ASSERT_OK(bpf_map_update_elem(f->maps.fd[BPFNET_M_CT_TCP], &b, &to7, BPF_ANY), "b -> 7");
	ASSERT_OK(bpfnet_ct_flush(&f->maps, names_backend_7, &ctx, &deleted), "flush");
	ASSERT_TRUE(ctx.calls >= 2, "both entries walked");
	ASSERT_EQ(deleted, 1, "only the entry that still named backend 7");
	ASSERT_OK(bpf_map_lookup_elem(f->maps.fd[BPFNET_M_CT_TCP], &ctx.first, &got),
		  "the entry reused during the walk is kept");
	ASSERT_EQ(got.backend_id, 8, "with its new backend");
}

/* Walks of big hash maps go in batches: every entry exactly once. */
TEST(map_iterate_sees_every_entry_of_a_big_hash)
{
	struct bpfnet_ct_value v = { .svc_id = 1 };
	struct bpfnet_ct_key k = { .daddr = 1, .proto = 6 };
	__u32 n = 0;

	for (__u32 i = 0; i < 5000; i++) {
		k.saddr = i;
		ASSERT_OK(bpfnet_ct_update(&f->maps, &k, &v), "insert");
	}
	ASSERT_OK(bpfnet_map_count(&f->maps, BPFNET_M_CT_TCP, &n), "count");
	ASSERT_EQ(n, 5000, "all of them");
}

/* An earlier bpfnet's ct_v1 and backend_v1 beside the current maps: their
 * entries are converted and copied (never over a newer one), and retiring
 * removes the old pins. */
TEST(maps_of_an_older_layout_are_converted_and_retired)
{
	struct {
		__u64 created, last_seen;
		__u32 backend_id, svc_id;
		__u16 flags;
		__be16 backend_port;
		__be32 backend_addr;
	} old = { .last_seen = 5, .backend_id = 3, .svc_id = 7, .flags = BPFNET_CT_F_SEEN_REPLY };
	struct bpfnet_ct_key fwd = { .saddr = htonl(CLIENT), .daddr = htonl(VIP), .sport = htons(1000),
				     .dport = htons(80), .proto = IPPROTO_TCP,
				     .dir = BPFNET_CT_SERVICE };
	struct bpfnet_ct_key udp = fwd, orphan = fwd, fresh = fwd;
	struct bpfnet_backend be = { htonl(BACKEND(3)), htons(8080), IPPROTO_TCP, 0 }, got_be;
	struct bpfnet_revnat rn = { htonl(VIP), htons(80), 0 };
	struct bpfnet_ct_value v, newer = { .svc_id = 99 };
	struct bpfnet_migration mig;
	char path[PATH_MAX + 32];
	int ct_fd, be_fd;
	__u32 id = 3, svc = 7;

	ct_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "ct_v1", sizeof(fwd), sizeof(old), 64, NULL);
	be_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "backend_v1", 4, sizeof(be), 64, NULL);
	ASSERT_TRUE(ct_fd >= 0 && be_fd >= 0, "old maps");
	snprintf(path, sizeof(path), "%s/ct_v1", f->pin_dir);
	ASSERT_OK(bpf_obj_pin(ct_fd, path), "pin ct_v1");
	snprintf(path, sizeof(path), "%s/backend_v1", f->pin_dir);
	ASSERT_OK(bpf_obj_pin(be_fd, path), "pin backend_v1");
	ASSERT_OK(bpf_map_update_elem(be_fd, &id, &be, BPF_ANY), "old backend 3");
	ASSERT_OK(bpf_map_update_elem(f->maps.fd[BPFNET_M_REVNAT], &svc, &rn, BPF_ANY), "revnat 7");
	/* a TCP flow from before backend addresses were kept (found by id) */
	ASSERT_OK(bpf_map_update_elem(ct_fd, &fwd, &old, BPF_ANY), "tcp flow");
	udp.proto = IPPROTO_UDP;
	old.backend_addr = htonl(BACKEND(3));
	old.backend_port = htons(8080);
	ASSERT_OK(bpf_map_update_elem(ct_fd, &udp, &old, BPF_ANY), "udp flow");
	orphan.sport = htons(1001); /* of a service that is gone */
	old.svc_id = 8;
	ASSERT_OK(bpf_map_update_elem(ct_fd, &orphan, &old, BPF_ANY), "orphan");
	fresh.sport = htons(1002); /* the new datapath has its own already */
	old.svc_id = 7;
	ASSERT_OK(bpf_map_update_elem(ct_fd, &fresh, &old, BPF_ANY), "old of a fresh one");
	ASSERT_OK(bpfnet_ct_update(&f->maps, &fresh, &newer), "fresh one");

	ASSERT_OK(bpfnet_maps_migrate(&f->maps, false, &mig), "copy");
	ASSERT_EQ(mig.maps_found, 2, "both old maps found");
	ASSERT_EQ(mig.copied, 3, "tcp, udp, backend");
	ASSERT_EQ(mig.skipped, 2, "the orphan and the one with a newer copy");
	ASSERT_OK(bpfnet_ct_lookup(&f->maps, &fwd, &v), "tcp flow in the TCP table");
	ASSERT_EQ(v.backend_addr, htonl(BACKEND(3)), "its backend found by id");
	ASSERT_EQ(v.rev_addr, htonl(VIP), "its VIP from the reverse-NAT entry");
	ASSERT_TRUE(v.flags & BPFNET_CT_F_ESTABLISHED, "an answered TCP flow is established");
	ASSERT_OK(bpf_map_lookup_elem(f->maps.fd[BPFNET_M_CT_ANY], &udp, &v), "udp in the other");
	ASSERT_EQ(bpfnet_ct_lookup(&f->maps, &orphan, &v), -ENOENT, "an orphan stays behind");
	ASSERT_OK(bpfnet_ct_lookup(&f->maps, &fresh, &v), "fresh");
	ASSERT_EQ(v.svc_id, 99, "never overwritten");
	ASSERT_OK(bpfnet_backend_get(&f->maps, 3, &got_be), "backend 3 in the array");
	ASSERT_EQ(got_be.addr, htonl(BACKEND(3)), "same address");

	ASSERT_OK(bpfnet_maps_migrate(&f->maps, true, &mig), "retire");
	ASSERT_EQ(mig.maps_retired, 2, "both retired");
	snprintf(path, sizeof(path), "%s/ct_v1", f->pin_dir);
	ASSERT_TRUE(access(path, F_OK) != 0, "ct_v1 unpinned");
	ASSERT_OK(bpfnet_maps_migrate(&f->maps, true, &mig), "nothing left");
	ASSERT_EQ(mig.maps_found, 0, "no old maps");
	close(ct_fd);
	close(be_fd);
}
