// Package inventory is the blank-form ledger (空白证照台账): for every printed serial (印制编号)
// of every licence type with a paper form, who holds it and in what state.
//
// Stock is kept as disjoint serial ranges, never one record per serial: a receipt of a million
// forms is one small write, and every movement splits and merges ranges in O(log n) of the number
// of ranges of the type. Every movement is appended to one ledger and applied in one transaction
// together with its audit event; a refused movement writes nothing. README.md describes the data
// model, the states, the movement kinds and the authorization rules.
//
// Each Service method is one transaction. The functions ending in Tx (UseTx, LoseTx, ReplaceTx,
// StateTx, VerifyTx) run inside the caller's transaction, for package certs.
package inventory

import (
	"certseal"
	"certseal/internal/store"
)

// Buckets. Every key that holds a serial number stores it as 8 big-endian bytes (store.U64), so
// scans come out in serial order.
const (
	// bucketRanges: Prefix(type) + U64(first) -> rangeValue (last, state, holder, source).
	bucketRanges store.Bucket = "inv_ranges"
	// bucketByHolder: Prefix(holder, type, state) + U64(first) -> U64(last).
	bucketByHolder store.Bucket = "inv_by_holder"
	// bucketCounts: Key(holder, type, state) -> U64(number of serials). Kept at 0, never
	// deleted, so a key under Prefix(holder, type) means the holder has held the type.
	bucketCounts store.Bucket = "inv_counts"
	// bucketTotals: Key(type) -> U64(serials ever received for the type).
	bucketTotals store.Bucket = "inv_totals"
	// bucketMovements: U64(id) -> Movement (JSON), the append-only ledger.
	bucketMovements store.Bucket = "inv_movements"
	// bucketMvByOrg: Prefix(org) + U64(id) -> nil, for every org a movement touches.
	bucketMvByOrg store.Bucket = "inv_mv_by_org"
	// bucketMvByOrgType: Prefix(org, type) + U64(id) -> flow (time, column, count), so that a
	// reconciliation never decodes a movement.
	bucketMvByOrgType store.Bucket = "inv_mv_by_org_type"
	// bucketTrace: Prefix(type) + class + U64(first) + U64(id) -> U64(last), where class is
	// bits.Len64(last-first): the size class of the moved range. See Trace.
	bucketTrace store.Bucket = "inv_trace"
	// bucketUses: Prefix(type) + U64(serial) -> certificate id.
	bucketUses store.Bucket = "inv_uses"
	// bucketStocktakes: U64(id) -> Stocktake (JSON).
	bucketStocktakes store.Bucket = "inv_stocktakes"
	// bucketThresholds: Key(holder, type) -> U64(threshold).
	bucketThresholds store.Bucket = "inv_thresholds"
)

// Buckets lists every bucket of the package (for backups, dumps and tests).
var Buckets = []store.Bucket{bucketRanges, bucketByHolder, bucketCounts, bucketTotals, bucketMovements,
	bucketMvByOrg, bucketMvByOrgType, bucketTrace, bucketUses, bucketStocktakes, bucketThresholds}

// Service keeps the blank-form ledger. Every method is one transaction.
type Service struct {
	DB    *store.DB
	Clock certseal.Clock
	// LicenceNumber returns the licence number of a certificate by its id, read in tx ("" when
	// unknown). Package certs, which owns certificates, provides it; without it the movements
	// name no licence number.
	LicenceNumber func(tx *store.Tx, certificateID string) string
}

// State is where a serial is in its life.
type State string

// The states. A serial is received in_stock; it leaves in_stock exactly once, to used, voided or
// lost; voided serials are later destroyed; a used serial whose paper copy was lost becomes lost.
const (
	InStock   State = "in_stock"  // 在库
	Used      State = "used"      // 已使用
	Voided    State = "voided"    // 已作废（待销毁）
	Destroyed State = "destroyed" // 已销毁
	Lost      State = "lost"      // 遗失
)

// States lists the states in display order.
var States = []State{InStock, Used, Voided, Destroyed, Lost}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return stateCode(s) != 0 }

// Label returns the state's Chinese name, or the raw value for an unknown state.
func (s State) Label() string {
	switch s {
	case InStock:
		return "在库"
	case Used:
		return "已使用"
	case Voided:
		return "已作废"
	case Destroyed:
		return "已销毁"
	case Lost:
		return "遗失"
	}
	return string(s)
}

func stateCode(s State) byte {
	for i, x := range States {
		if x == s {
			return byte(i + 1)
		}
	}
	return 0
}

func stateOf(b byte) State {
	if b == 0 || int(b) > len(States) {
		return State("?")
	}
	return States[b-1]
}

// Kind is the kind of a movement.
type Kind string

// The movement kinds.
const (
	KindReceipt          Kind = "receipt"           // 入库: nothing -> in_stock
	KindDistribution     Kind = "distribution"      // 下发: city department -> county, in_stock
	KindHandover         Kind = "handover"          // 移交: county department -> county bureau, in_stock
	KindReturn           Kind = "return"            // 退回: county -> the city department that distributed
	KindUse              Kind = "use"               // 使用: in_stock -> used
	KindVoid             Kind = "void"              // 作废: in_stock -> voided
	KindDestruction      Kind = "destruction"       // 销毁: voided -> destroyed
	KindLoss             Kind = "loss"              // 遗失: in_stock -> lost
	KindCopyLost         Kind = "copy_lost"         // 补证: used -> lost (the paper copy was lost)
	KindStocktakeLoss    Kind = "stocktake_loss"    // 盘亏: in_stock -> lost, on an approved stocktake
	KindStocktakeReceipt Kind = "stocktake_receipt" // 盘盈入库: nothing -> in_stock, on an approved stocktake
)

// Kinds lists the movement kinds.
var Kinds = []Kind{KindReceipt, KindDistribution, KindHandover, KindReturn, KindUse, KindVoid,
	KindDestruction, KindLoss, KindCopyLost, KindStocktakeLoss, KindStocktakeReceipt}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// IsTransfer reports whether k moves stock between organisations.
func (k Kind) IsTransfer() bool {
	return k == KindDistribution || k == KindHandover || k == KindReturn
}

// Label returns the kind's Chinese name, or the raw value for an unknown kind.
func (k Kind) Label() string {
	switch k {
	case KindReceipt:
		return "入库"
	case KindDistribution:
		return "下发"
	case KindHandover:
		return "移交"
	case KindReturn:
		return "退回"
	case KindUse:
		return "使用"
	case KindVoid:
		return "作废"
	case KindDestruction:
		return "销毁"
	case KindLoss:
		return "遗失"
	case KindCopyLost:
		return "已发证照遗失（补证）"
	case KindStocktakeLoss:
		return "盘亏"
	case KindStocktakeReceipt:
		return "盘盈入库"
	}
	return string(k)
}

// Limits on requests.
const (
	MaxRanges     = 1000 // serial ranges in one movement request
	MaxTextLen    = 200  // characters of a reference field (supplier, contract, document, ...)
	MaxNoteLen    = 1000 // characters of a note or reason
	MaxWitnesses  = 20   // witnesses of a destruction
	MaxPageSize   = 1000 // rows of one page of a query
	DefaultPage   = 100  // rows of a page when the caller does not say
	maxUnitCost   = 100_000_000
	rangeListShow = 5 // conflicting ranges named in an error message
)
